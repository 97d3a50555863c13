-- Default-probability scores (finance.statements.scored), one row per scored statement id, with the
-- model version that produced it; the latest per company is what an API lists.
CREATE TABLE IF NOT EXISTS finance_scores (
  id                    text        PRIMARY KEY,
  tenant_id             text        NOT NULL,
  company_id            text        NOT NULL,
  period_end            date        NOT NULL,
  kind                  text        NOT NULL CHECK (kind IN ('annual', 'quarterly')),
  ohlson_probability    double precision NOT NULL,
  zmijewski_probability double precision NOT NULL,
  altman_probability    double precision NOT NULL,
  altman_z              double precision NOT NULL,
  altman_zone           text        NOT NULL,
  probability           double precision NOT NULL CHECK (probability >= 0 AND probability <= 1),
  category              text        NOT NULL,
  model_id              text        NOT NULL,
  model_version         text        NOT NULL,
  scored_at             timestamptz NOT NULL,
  source_partition      integer     NOT NULL,
  source_offset         bigint      NOT NULL
);
CREATE INDEX IF NOT EXISTS finance_scores_company ON finance_scores (tenant_id, company_id, period_end);
