-- Dashboard rollups over finance_scores. Plain views read the table with FINAL, so a statement
-- scored twice (a replay) counts once and the figures are exact whenever they are queried.
-- The statement schema has no sector: probability quantiles are by tenant, period end and kind.
CREATE VIEW IF NOT EXISTS finance_category_counts AS
SELECT tenant_id, period_end, kind, category, count() AS statements
FROM finance_scores FINAL
GROUP BY tenant_id, period_end, kind, category;

CREATE VIEW IF NOT EXISTS finance_probability_quantiles AS
SELECT
  tenant_id,
  period_end,
  kind,
  count() AS statements,
  quantilesExact(0.1, 0.25, 0.5, 0.75, 0.9, 0.99)(probability) AS probability_quantiles,
  probability_quantiles[1] AS p10,
  probability_quantiles[2] AS p25,
  probability_quantiles[3] AS p50,
  probability_quantiles[4] AS p75,
  probability_quantiles[5] AS p90,
  probability_quantiles[6] AS p99,
  avg(probability) AS mean
FROM finance_scores FINAL
GROUP BY tenant_id, period_end, kind;
