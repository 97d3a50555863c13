-- The market watch list: which symbols each tenant follows, and how often the retriever fetches them.
CREATE TABLE IF NOT EXISTS market_symbols (
  tenant_id  text    NOT NULL REFERENCES tenants (id),
  symbol     text    NOT NULL CHECK (symbol ~ '^[A-Z][A-Z0-9.]{0,9}$'),
  interval_s integer NOT NULL DEFAULT 3600 CHECK (interval_s >= 10),
  added_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, symbol)
);
