-- Tenant first, then time: a dashboard's query reads one tenant's time range (sorting key prefix and
-- partition pruning) instead of every tenant's rows. The layout of each table, and whether its
-- reads need FINAL, is in sql/clickhouse/README.md. Stop the ClickHouse sinks while it runs: the swap
-- is refused while a table gains rows.
REBUILD TABLE samples_flights ENGINE = ReplacingMergeTree(_offset) PARTITION BY toYYYYMM(event_time) ORDER BY (tenant_id, event_time, id);
REBUILD TABLE finance_scores ENGINE = ReplacingMergeTree(_offset) PARTITION BY toYear(period_end) ORDER BY (tenant_id, period_end, kind, id);
REBUILD TABLE catalog_rows ENGINE = ReplacingMergeTree(_offset) PARTITION BY toYYYYMM(event_time) ORDER BY (tenant_id, upload_id, id);
