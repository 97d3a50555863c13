-- The sample pipeline's Postgres table (connectors/sinks/samples-flights.ts): one row per flight id,
-- upserted; delay is a smallint, so a delay the type cannot hold is refused (and dead-lettered).
CREATE TABLE IF NOT EXISTS samples_flights (
  id               text        PRIMARY KEY,
  tenant_id        text        NOT NULL,
  event_time       timestamptz NOT NULL,
  origin           text        NOT NULL,
  destination      text        NOT NULL,
  distance         integer     NOT NULL CHECK (distance >= 0),
  delay            smallint    NOT NULL,
  source_partition integer     NOT NULL,
  source_offset    bigint      NOT NULL
);
