-- A record's identity is (tenant_id, id): these three tables replaced rows by id alone, so a record
-- of one tenant replaced another tenant's with the same id. ClickHouse cannot change a sorting key
-- in place: each table is copied, lineage columns and all (the sinks resume from max(_offset) + 1),
-- into one ordered by (tenant_id, id), then swapped in by name; the finance rollup views read the
-- tables by name, so they follow. Each step may run again after a failure (the copy is emptied
-- before it is filled, a leftover old table is dropped before the swap), so provisioning again
-- finishes the job. Restart the ClickHouse sinks after it: a row a running sink inserted into the
-- old table during the copy is written again from the new table's max(_offset) + 1.
CREATE TABLE IF NOT EXISTS samples_flights_by_tenant AS samples_flights ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, id);
TRUNCATE TABLE samples_flights_by_tenant;
INSERT INTO samples_flights_by_tenant SELECT * FROM samples_flights;
DROP TABLE IF EXISTS samples_flights_by_id;
RENAME TABLE samples_flights TO samples_flights_by_id, samples_flights_by_tenant TO samples_flights;
DROP TABLE samples_flights_by_id;

CREATE TABLE IF NOT EXISTS finance_scores_by_tenant AS finance_scores ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, id);
TRUNCATE TABLE finance_scores_by_tenant;
INSERT INTO finance_scores_by_tenant SELECT * FROM finance_scores;
DROP TABLE IF EXISTS finance_scores_by_id;
RENAME TABLE finance_scores TO finance_scores_by_id, finance_scores_by_tenant TO finance_scores;
DROP TABLE finance_scores_by_id;

CREATE TABLE IF NOT EXISTS catalog_rows_by_tenant AS catalog_rows ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, id);
TRUNCATE TABLE catalog_rows_by_tenant;
INSERT INTO catalog_rows_by_tenant SELECT * FROM catalog_rows;
DROP TABLE IF EXISTS catalog_rows_by_id;
RENAME TABLE catalog_rows TO catalog_rows_by_id, catalog_rows_by_tenant TO catalog_rows;
DROP TABLE catalog_rows_by_id;
