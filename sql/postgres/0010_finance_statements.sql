-- Statements submitted through the API, one per tenant, company, period end and kind: the unique
-- key turns a second submission into a 409 (or a bulk row's rejection) naming the first one's id.
-- The id is deterministic (sha256 of tenant, company, period end and kind; see
-- connectors/sources/finance-bulk/statements.ts) and is the id of the record published to
-- finance.statements.raw, so the pipeline's score lands on finance_scores under the same id.
CREATE TABLE IF NOT EXISTS finance_statements (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id),
  company_id   text NOT NULL,
  period_end   date NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('annual', 'quarterly')),
  source       text NOT NULL CHECK (source IN ('api', 'bulk')),
  job_id       text REFERENCES finance_jobs (id),
  row_number   integer,
  submitted_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, company_id, period_end, kind)
);
CREATE INDEX IF NOT EXISTS finance_statements_job ON finance_statements (job_id) WHERE job_id IS NOT NULL;

-- GET /v1/predictions pages a tenant's scores newest period first (keyset on period_end, id).
CREATE INDEX IF NOT EXISTS finance_scores_tenant_period ON finance_scores (tenant_id, period_end DESC, id DESC);

COMMENT ON COLUMN finance_scores.source_offset IS
  'offset of the scored record in finance.statements.scored; -1 while the row is the API''s synchronous score, before the pipeline''s upsert';
