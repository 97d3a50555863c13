-- A company's latest prediction (GET /v1/companies) is ORDER BY period_end DESC, kind, id LIMIT 1
-- per company: with the index ending at period_end, Postgres sorted every statement of the last
-- period end for each company. This index holds the whole order, so it is one index entry, and it
-- still serves the per-company counts as an index-only scan, so the narrower one goes.
CREATE INDEX IF NOT EXISTS finance_scores_company_latest ON finance_scores (tenant_id, company_id, period_end DESC, kind, id);
DROP INDEX IF EXISTS finance_scores_company;
