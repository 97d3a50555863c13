-- Default-probability scores for analytics (category counts by period, probability quantiles).
-- An exactly-once sink table: see connectors/sinks/clickhouse/README.md.
CREATE TABLE IF NOT EXISTS finance_scores (
  id                    String,
  tenant_id             String,
  company_id            String,
  period_end            Date,
  kind                  String,
  ohlson_probability    Float64,
  zmijewski_probability Float64,
  altman_probability    Float64,
  altman_z              Float64,
  altman_zone           String,
  probability           Float64,
  category              String,
  model_id              String,
  model_version         String,
  event_time            DateTime,
  _topic                String,
  _partition            UInt32,
  _offset               UInt64
) ENGINE = ReplacingMergeTree(_offset) ORDER BY id;
