-- Catalog models per tenant. A taxonomy version names the genre model its rows are classified with
-- (a model the tenant sees: its own `<tenant>.<name>` or the platform's); NULL is the platform's
-- `catalog-genre`, as every taxonomy saved before had it.
ALTER TABLE catalog_taxonomies ADD COLUMN IF NOT EXISTS model_id text;

-- Training a tenant's genre model from a labelled upload (POST /v1/genre-model-jobs): the job runs
-- in the API instance that took it and registers one version of `model_id` when it succeeds.
CREATE TABLE IF NOT EXISTS genre_model_jobs (
  id            uuid        PRIMARY KEY,
  tenant_id     text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  model_id      text        NOT NULL CHECK (starts_with(model_id, tenant_id || '.')),
  upload_id     text        NOT NULL,
  params        jsonb       NOT NULL,
  status        text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  reason        text,
  model_version text,
  metrics       jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);
CREATE INDEX IF NOT EXISTS genre_model_jobs_tenant ON genre_model_jobs (tenant_id, created_at);
