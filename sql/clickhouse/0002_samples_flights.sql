-- The sample pipeline's ClickHouse table. Sink tables are unpartitioned ReplacingMergeTrees ordered
-- by the record id and versioned by the source offset, with the lineage columns the sink writes:
-- see connectors/sinks/clickhouse/README.md for why that makes the sink exactly-once.
CREATE TABLE IF NOT EXISTS samples_flights (
  id          String,
  tenant_id   String,
  event_time  DateTime,
  origin      String,
  destination String,
  distance    UInt32,
  delay       Int16,
  _topic      String,
  _partition  UInt32,
  _offset     UInt64
) ENGINE = ReplacingMergeTree(_offset) ORDER BY id;
