-- Classified product rows (catalog.rows.classified): analytics, and the source of an upload's
-- result file. Attribute matches and the selected fields are JSON strings (18.16 has no Map type).
-- An exactly-once sink table: see connectors/sinks/clickhouse/README.md.
CREATE TABLE IF NOT EXISTS catalog_rows (
  id            String,
  tenant_id     String,
  upload_id     String,
  row_number    UInt64,
  taxonomy      String,
  genre         String,
  confidence    Float64,
  decided_by    String,
  model_id      String,
  model_version String,
  attributes    String,
  fields        String,
  event_time    DateTime,
  _topic        String,
  _partition    UInt32,
  _offset       UInt64
) ENGINE = ReplacingMergeTree(_offset) ORDER BY id;
