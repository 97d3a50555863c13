-- A record's identity is (tenant_id, id): these three tables replaced rows by id alone, so a record
-- of one tenant replaced another tenant's with the same id. ClickHouse cannot change a sorting key
-- in place: REBUILD TABLE (core/clickhouse-rebuild.ts) copies each, lineage columns and all (the
-- sinks resume from max(_offset) + 1), into the new layout and swaps it in by name; the finance
-- rollup views read the tables by name, so they follow. Stop the ClickHouse sinks while it runs:
-- the swap is refused while the old table gains rows.
REBUILD TABLE samples_flights ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, id);
REBUILD TABLE finance_scores ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, id);
REBUILD TABLE catalog_rows ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, id);
