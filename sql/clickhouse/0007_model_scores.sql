-- Scores of the model-scoring processor (processors/model-scoring). model_scores: the active
-- version's, from the public topic samples.flights.scored, the latest score of each record per
-- model. model_shadow_scores: a shadow version's, from samples.flights.shadow, each row holding
-- the active version's score of the same record from the same transaction, so a comparison needs
-- no join. `actual` is the label by the scoring version's dataset rule (delay > 15, say).
-- Exactly-once sink tables: see connectors/sinks/clickhouse/README.md.
CREATE TABLE IF NOT EXISTS model_scores (
  id            String,
  tenant_id     String,
  model_id      String,
  model_version String,
  label         UInt8,
  probability   Float64,
  actual        UInt8,
  event_time    DateTime,
  _topic        String,
  _partition    UInt32,
  _offset       UInt64
) ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, model_id, id);

CREATE TABLE IF NOT EXISTS model_shadow_scores (
  id                 String,
  tenant_id          String,
  model_id           String,
  model_version      String,
  label              UInt8,
  probability        Float64,
  active_version     String,
  active_label       UInt8,
  active_probability Float64,
  actual             UInt8,
  event_time         DateTime,
  _topic             String,
  _partition         UInt32,
  _offset            UInt64
) ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, model_id, model_version, id);
