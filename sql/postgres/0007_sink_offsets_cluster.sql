-- The Kafka cluster the stored offsets belong to: Postgres outlives a local Kafka that is formatted
-- again (a fresh MILLRACE_HOME, CI), and offsets of another cluster's log must not be trusted.
ALTER TABLE sink_offsets ADD COLUMN IF NOT EXISTS cluster_id text;
