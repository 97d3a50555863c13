-- Lifecycles (issue 22, item 2): a crawl and a finance bulk job can be cancelled, and a taxonomy
-- cannot be deleted while an upload being processed classifies with it, so an upload records the
-- taxonomy it was processed with (NULL before this, or when it named none).
ALTER TABLE image_datasets DROP CONSTRAINT IF EXISTS image_datasets_crawl_state_check;
ALTER TABLE image_datasets ADD CONSTRAINT image_datasets_crawl_state_check
  CHECK (crawl_state IN ('crawling', 'crawled', 'failed', 'cancelled'));
ALTER TABLE finance_jobs DROP CONSTRAINT IF EXISTS finance_jobs_state_check;
ALTER TABLE finance_jobs ADD CONSTRAINT finance_jobs_state_check
  CHECK (state IN ('publishing', 'scoring', 'completed', 'failed', 'cancelled'));
ALTER TABLE uploads ADD COLUMN IF NOT EXISTS taxonomy text;

-- A tenant's things newest first, paged by (created_at, id) (the list routes).
CREATE INDEX IF NOT EXISTS training_files_tenant_newest ON training_files (tenant_id, created_at DESC, id DESC);
