-- Erasure (`millrace tenants erase`, DELETE /v1/tenant): an erased tenant keeps its row, marked, and
-- nothing else. Its name stays taken until name_free_at, when the longest retention of the log has
-- passed, so a new tenant of that name can never read the old one's records still in the log.
ALTER TABLE tenants
  ADD COLUMN IF NOT EXISTS erased_at    timestamptz,
  ADD COLUMN IF NOT EXISTS name_free_at timestamptz;
