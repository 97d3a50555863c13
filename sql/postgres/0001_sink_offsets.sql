-- Offsets a Postgres sink has made durable, written in the same transaction as its rows, so that
-- on start the sink seeks here instead of trusting Kafka's committed offsets (exactly-once).
CREATE TABLE IF NOT EXISTS sink_offsets (
  sink        text    NOT NULL,
  topic       text    NOT NULL,
  partition   integer NOT NULL,
  next_offset bigint  NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sink, topic, partition)
);
