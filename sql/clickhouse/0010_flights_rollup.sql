-- Rollups of samples_flights for the flights analytics view (api/analytics/views.ts; query.ts picks
-- the coarsest that fits a question): per tenant and UTC day (no route: on the sample data a tenant's
-- day holds ~120 flights, a route's hour ~1, so only the route-less rollup is much smaller than the
-- table), and per tenant, hour, origin and destination (any bucket, route dimensions). Exact: flights are read without
-- FINAL (each offset is one row, a replay skips stored offsets), so a materialized view that adds
-- every inserted block counts what the raw table counts; the quantile state keeps every delay, so
-- merging states gives quantileExact of the union. The view feeds by the source's name: a REBUILD
-- TABLE of samples_flights (copy into __next, RENAME) keeps it fed and the copy is not counted twice
-- (test/integration/flights-rollup.test.ts).
--
-- Backfill: a view sees only new inserts, so each rollup is emptied and refilled from the rows
-- already stored. Stop the ClickHouse sinks while provisioning (as for REBUILD TABLE): a row
-- inserted between the TRUNCATE and the INSERT would be counted by both. The last statement refuses
-- to finish if the counts differ; running the migration again (sinks stopped) refills it.
CREATE TABLE IF NOT EXISTS samples_flights_hourly (
  tenant_id    String,
  hour         DateTime,
  origin       String,
  destination  String,
  flights      AggregateFunction(count),
  delay_sum    AggregateFunction(sum, Int16),
  delay_max    AggregateFunction(max, Int16),
  delay_p90    AggregateFunction(quantileExact(0.9), Int16),
  distance_sum AggregateFunction(sum, UInt32)
) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(hour) ORDER BY (tenant_id, hour, origin, destination);

CREATE MATERIALIZED VIEW IF NOT EXISTS samples_flights_hourly_mv TO samples_flights_hourly AS
SELECT
  tenant_id,
  toStartOfHour(event_time, 'UTC') AS hour,
  origin,
  destination,
  countState() AS flights,
  sumState(delay) AS delay_sum,
  maxState(delay) AS delay_max,
  quantileExactState(0.9)(delay) AS delay_p90,
  sumState(distance) AS distance_sum
FROM samples_flights
GROUP BY tenant_id, hour, origin, destination;

TRUNCATE TABLE samples_flights_hourly;

INSERT INTO samples_flights_hourly
SELECT
  tenant_id,
  toStartOfHour(event_time, 'UTC') AS hour,
  origin,
  destination,
  countState() AS flights,
  sumState(delay) AS delay_sum,
  maxState(delay) AS delay_max,
  quantileExactState(0.9)(delay) AS delay_p90,
  sumState(distance) AS distance_sum
FROM samples_flights
GROUP BY tenant_id, hour, origin, destination;

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

SELECT throwIf((SELECT count() FROM samples_flights) != (SELECT countMerge(flights) FROM samples_flights_hourly));

SELECT throwIf((SELECT count() FROM samples_flights) != (SELECT countMerge(flights) FROM samples_flights_daily));
