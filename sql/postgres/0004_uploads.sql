-- Uploaded product files (catalog): where they are, how to read them, how far processing got,
-- and every row that was refused, with its number and reason.
CREATE TABLE IF NOT EXISTS uploads (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants (id),
  filename       text,
  format         text NOT NULL CHECK (format IN ('csv', 'jsonl')),
  delimiter      text,
  bytes          bigint NOT NULL,
  state          text NOT NULL DEFAULT 'uploaded' CHECK (state IN ('uploaded', 'processing', 'processed', 'failed')),
  columns        jsonb,
  total_rows     integer,
  published_rows integer NOT NULL DEFAULT 0,
  rejected_rows  integer NOT NULL DEFAULT 0,
  error          text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS uploads_tenant ON uploads (tenant_id, created_at);

CREATE TABLE IF NOT EXISTS upload_rejections (
  upload_id  text    NOT NULL REFERENCES uploads (id),
  row_number integer NOT NULL,
  reason     text    NOT NULL,
  PRIMARY KEY (upload_id, row_number)
);
