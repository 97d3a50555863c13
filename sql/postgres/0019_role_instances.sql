-- Running roles (processors, sinks) report here every few seconds (core/role-heartbeat.ts): what
-- `GET /v1/pipelines` and `millrace status` read beside the consumer groups. One row per process;
-- a row whose heartbeat stopped without `stopped_at` is a process that died.
CREATE TABLE IF NOT EXISTS role_instances (
  id            text PRIMARY KEY,            -- <host>:<pid>:<start ms>
  role          text NOT NULL,               -- processor | sink
  name          text NOT NULL,
  host          text NOT NULL,
  pid           integer NOT NULL,
  group_id      text NOT NULL,               -- its Kafka consumer group
  topics        text[] NOT NULL,             -- the topics it consumes
  metrics_url   text,
  restarts      integer NOT NULL DEFAULT 0,  -- times the supervisor (millrace start) started it again
  started_at    timestamptz NOT NULL,
  heartbeat_at  timestamptz NOT NULL,
  stopped_at    timestamptz,
  records_in    bigint NOT NULL DEFAULT 0,   -- since the process started (its own counters)
  records_out   bigint NOT NULL DEFAULT 0,
  dlq_records   bigint NOT NULL DEFAULT 0,
  in_per_s      double precision NOT NULL DEFAULT 0, -- over the last heartbeat interval
  out_per_s     double precision NOT NULL DEFAULT 0,
  last_error    text,
  last_error_at timestamptz
);
CREATE INDEX IF NOT EXISTS role_instances_by_role ON role_instances (role, name, started_at DESC);
