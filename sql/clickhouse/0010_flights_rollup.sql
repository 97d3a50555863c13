-- Rollups of samples_flights for the flights analytics view (api/analytics/views.ts; query.ts reads
-- the coarsest that fits a question, else the raw table): per tenant and UTC day, per tenant, UTC day
-- and origin, per tenant and hour. None per route: measured on 2,000,000 flights over 10,000 routes,
-- a route's hour or day holds 1-2 flights, and its rollup (as many rows as the table, each with
-- aggregate states) answered slower than the raw table. sql/clickhouse/README.md has the numbers.
--
-- Exact: flights are read without FINAL (each offset is one row, a replay skips stored offsets), so
-- a materialized view that adds every inserted block counts what the raw table counts; the quantile
-- state keeps every delay, so merged states give quantileExact of the union. A view feeds by its
-- source's name: a REBUILD TABLE of samples_flights (copy into __next, RENAME) keeps it fed and the
-- copy is not counted twice (test/integration/flights-rollup.test.ts).
--
-- Backfill: a view sees only new inserts, so each rollup is emptied and refilled from the rows
-- already stored. Stop the ClickHouse sinks while provisioning (as for REBUILD TABLE): a row
-- inserted between the TRUNCATE and the INSERT would be counted by both. A rollup's last statement
-- refuses to finish if its count differs from the table's; running the migration again (sinks
-- stopped) refills it.

CREATE TABLE IF NOT EXISTS samples_flights_daily (
  tenant_id    String,
  day          DateTime,
  flights      AggregateFunction(count),
  delay_sum    AggregateFunction(sum, Int16),
  delay_max    AggregateFunction(max, Int16),
  delay_p90    AggregateFunction(quantileExact(0.9), Int16),
  distance_sum AggregateFunction(sum, UInt32)
) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY (tenant_id, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS samples_flights_daily_mv TO samples_flights_daily AS
SELECT
  tenant_id,
  toStartOfDay(event_time, 'UTC') AS day,
  countState() AS flights,
  sumState(delay) AS delay_sum,
  maxState(delay) AS delay_max,
  quantileExactState(0.9)(delay) AS delay_p90,
  sumState(distance) AS distance_sum
FROM samples_flights
GROUP BY tenant_id, day;

TRUNCATE TABLE samples_flights_daily;

INSERT INTO samples_flights_daily
SELECT
  tenant_id,
  toStartOfDay(event_time, 'UTC') AS day,
  countState() AS flights,
  sumState(delay) AS delay_sum,
  maxState(delay) AS delay_max,
  quantileExactState(0.9)(delay) AS delay_p90,
  sumState(distance) AS distance_sum
FROM samples_flights
GROUP BY tenant_id, day;

SELECT throwIf((SELECT count() FROM samples_flights) != (SELECT countMerge(flights) FROM samples_flights_daily));

CREATE TABLE IF NOT EXISTS samples_flights_daily_origin (
  tenant_id    String,
  day          DateTime,
  origin       String,
  flights      AggregateFunction(count),
  delay_sum    AggregateFunction(sum, Int16),
  delay_max    AggregateFunction(max, Int16),
  delay_p90    AggregateFunction(quantileExact(0.9), Int16),
  distance_sum AggregateFunction(sum, UInt32)
) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY (tenant_id, day, origin);

CREATE MATERIALIZED VIEW IF NOT EXISTS samples_flights_daily_origin_mv TO samples_flights_daily_origin AS
SELECT
  tenant_id,
  toStartOfDay(event_time, 'UTC') AS day,
  origin,
  countState() AS flights,
  sumState(delay) AS delay_sum,
  maxState(delay) AS delay_max,
  quantileExactState(0.9)(delay) AS delay_p90,
  sumState(distance) AS distance_sum
FROM samples_flights
GROUP BY tenant_id, day, origin;

TRUNCATE TABLE samples_flights_daily_origin;

INSERT INTO samples_flights_daily_origin
SELECT
  tenant_id,
  toStartOfDay(event_time, 'UTC') AS day,
  origin,
  countState() AS flights,
  sumState(delay) AS delay_sum,
  maxState(delay) AS delay_max,
  quantileExactState(0.9)(delay) AS delay_p90,
  sumState(distance) AS distance_sum
FROM samples_flights
GROUP BY tenant_id, day, origin;

SELECT throwIf((SELECT count() FROM samples_flights) != (SELECT countMerge(flights) FROM samples_flights_daily_origin));

CREATE TABLE IF NOT EXISTS samples_flights_hourly (
  tenant_id    String,
  hour         DateTime,
  flights      AggregateFunction(count),
  delay_sum    AggregateFunction(sum, Int16),
  delay_max    AggregateFunction(max, Int16),
  delay_p90    AggregateFunction(quantileExact(0.9), Int16),
  distance_sum AggregateFunction(sum, UInt32)
) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(hour) ORDER BY (tenant_id, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS samples_flights_hourly_mv TO samples_flights_hourly AS
SELECT
  tenant_id,
  toStartOfHour(event_time, 'UTC') AS hour,
  countState() AS flights,
  sumState(delay) AS delay_sum,
  maxState(delay) AS delay_max,
  quantileExactState(0.9)(delay) AS delay_p90,
  sumState(distance) AS distance_sum
FROM samples_flights
GROUP BY tenant_id, hour;

TRUNCATE TABLE samples_flights_hourly;

INSERT INTO samples_flights_hourly
SELECT
  tenant_id,
  toStartOfHour(event_time, 'UTC') AS hour,
  countState() AS flights,
  sumState(delay) AS delay_sum,
  maxState(delay) AS delay_max,
  quantileExactState(0.9)(delay) AS delay_p90,
  sumState(distance) AS distance_sum
FROM samples_flights
GROUP BY tenant_id, hour;

SELECT throwIf((SELECT count() FROM samples_flights) != (SELECT countMerge(flights) FROM samples_flights_hourly));
