-- Training jobs a tenant lists, cancels and orders (issue 20, item 6).
-- A job may end `cancelled`: a queued one at once, a running one once its trainer sees
-- cancel_requested_at at its next step. Existing rows keep their statuses, all still allowed.
ALTER TABLE training_jobs DROP CONSTRAINT IF EXISTS training_jobs_status_check;
ALTER TABLE training_jobs ADD CONSTRAINT training_jobs_status_check
  CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled'));
ALTER TABLE training_jobs ADD COLUMN IF NOT EXISTS cancel_requested_at timestamptz;
-- Trainers claim the highest priority first, then the oldest; existing jobs take the default.
ALTER TABLE training_jobs ADD COLUMN IF NOT EXISTS priority integer NOT NULL DEFAULT 0
  CHECK (priority BETWEEN -10 AND 10);
-- When a trainer last claimed the job (its run's start; null while it has never run).
ALTER TABLE training_jobs ADD COLUMN IF NOT EXISTS started_at timestamptz;

-- The claim's order (claimJob), over the jobs a trainer may claim.
DROP INDEX IF EXISTS training_jobs_claimable;
CREATE INDEX IF NOT EXISTS training_jobs_claimable ON training_jobs (priority DESC, created_at, id)
  WHERE status IN ('queued', 'running');
-- A tenant's jobs newest first, paged by (created_at, id) (GET /v1/training-jobs).
CREATE INDEX IF NOT EXISTS training_jobs_tenant_newest ON training_jobs (tenant_id, created_at DESC, id DESC);
