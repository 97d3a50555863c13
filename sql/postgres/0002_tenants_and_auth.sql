-- Tenants, their users and API keys, and the counters behind rate limits. Keys and passwords are
-- stored only as hashes: a key is shown once, when it is created.
CREATE TABLE IF NOT EXISTS tenants (
  id         text PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_keys (
  id         text PRIMARY KEY,                 -- the public part of the key, `mr_<id>_<secret>`
  tenant_id  text NOT NULL REFERENCES tenants (id),
  role       text NOT NULL CHECK (role IN ('admin', 'analyst', 'producer', 'reader')),
  secret_sha256 text NOT NULL,                 -- the secret is 256 random bits: a fast hash is enough
  label      text,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE IF NOT EXISTS users (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants (id),
  email         text NOT NULL UNIQUE,
  password_hash text NOT NULL,                 -- argon2id
  role          text NOT NULL CHECK (role IN ('admin', 'analyst', 'producer', 'reader')),
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Fixed one-minute windows; old windows are deleted as new ones are counted.
CREATE TABLE IF NOT EXISTS rate_limit_counters (
  bucket       text        NOT NULL,           -- 'key:<id>' or 'ip:<address>'
  window_start timestamptz NOT NULL,
  hits         integer     NOT NULL,
  PRIMARY KEY (bucket, window_start)
);
