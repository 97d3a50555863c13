-- Idempotency-Key (api/idempotency.ts): per tenant and key, the request that first used it (its
-- method and path, and a sha256 of method, path and canonical body) and, once it ended, the answer
-- replayed to every repeat for 24 hours. A row in state 'running' is the reservation that lets one
-- request run: it is deleted when that request fails with a 5xx (so a retry may run), or taken over
-- by a repeat once its lease is over (the process holding it died).
CREATE TABLE IF NOT EXISTS idempotency_keys (
  tenant_id    text        NOT NULL,
  key          text        NOT NULL,
  request      text        NOT NULL,            -- 'POST /v1/topics/market.quotes.raw/records'
  fingerprint  text        NOT NULL,
  state        text        NOT NULL CHECK (state IN ('running', 'done')),
  owner        uuid        NOT NULL,            -- the request holding the reservation
  locked_at    timestamptz NOT NULL,
  status       integer,
  headers      jsonb,
  body         bytea,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, key)
);
-- the expiry sweep
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
