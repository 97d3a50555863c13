-- Datasets from a tenant's own files (connectors/sources/training-files): an uploaded CSV, JSON
-- lines or Parquet file, inspected once when it arrives (each column's inferred type and profile,
-- the row count and the first refused rows, with their numbers and reasons).
CREATE TABLE IF NOT EXISTS training_files (
  id         uuid        PRIMARY KEY,
  tenant_id  text        NOT NULL REFERENCES tenants (id),
  filename   text,
  format     text        NOT NULL CHECK (format IN ('csv', 'jsonl', 'parquet')),
  delimiter  text,
  bytes      bigint      NOT NULL,
  inspection jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS training_files_tenant ON training_files (tenant_id, created_at);

-- A training dataset version is a query over whitelisted tables (kind 'query', as before) or the
-- rows of a file landed in ClickHouse's training_rows (kind 'file'). A file version is inserted
-- 'loading' (its number taken, never reused), its rows are inserted under that number, and only
-- then is it 'ready': readers see ready versions only, so a load that died midway is never seen.
-- `profile` holds what the load measured: rows, refused rows, each column, the label balance.
ALTER TABLE training_datasets
  ADD COLUMN IF NOT EXISTS kind    text  NOT NULL DEFAULT 'query' CHECK (kind IN ('query', 'file')),
  ADD COLUMN IF NOT EXISTS state   text  NOT NULL DEFAULT 'ready' CHECK (state IN ('loading', 'ready', 'failed')),
  ADD COLUMN IF NOT EXISTS profile jsonb;
