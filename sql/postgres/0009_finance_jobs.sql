-- Bulk prediction jobs (POST /v1/predictions/bulk): the uploaded file's shape, how far reading got,
-- the state, and every refused row with its number (1-based, header excluded), field and reason.
-- Accepted and scored counts are derived from finance_statements and finance_scores.
CREATE TABLE IF NOT EXISTS finance_jobs (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id),
  filename     text,
  format       text NOT NULL CHECK (format IN ('csv', 'jsonl')),
  delimiter    text NOT NULL,
  bytes        bigint NOT NULL,
  state        text NOT NULL CHECK (state IN ('publishing', 'scoring', 'completed', 'failed')),
  rows_read    integer NOT NULL DEFAULT 0,
  total_rows   integer,
  error        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
CREATE INDEX IF NOT EXISTS finance_jobs_tenant ON finance_jobs (tenant_id, created_at);

CREATE TABLE IF NOT EXISTS finance_job_rejections (
  job_id     text    NOT NULL REFERENCES finance_jobs (id),
  row_number integer NOT NULL,
  field      text,
  reason     text    NOT NULL,
  PRIMARY KEY (job_id, row_number)
);
