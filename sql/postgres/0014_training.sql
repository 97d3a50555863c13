-- The model platform (models/tabular): training datasets, training jobs and their events.
-- A dataset is a named, versioned query over whitelisted ClickHouse columns (never SQL from a
-- client); its definition is stored as the validated JSON it was built from.
CREATE TABLE IF NOT EXISTS training_datasets (
  tenant_id  text        NOT NULL,
  name       text        NOT NULL,
  version    integer     NOT NULL,
  definition jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name, version)
);

-- A job is claimed by one trainer at a time through a lease (claimed_by, lease_until) that the
-- trainer renews while it trains; a job whose lease ran out (its trainer died) is claimed again.
CREATE TABLE IF NOT EXISTS training_jobs (
  id              uuid        PRIMARY KEY,
  tenant_id       text        NOT NULL,
  dataset_name    text        NOT NULL,
  dataset_version integer     NOT NULL,
  algorithm       text        NOT NULL,
  params          jsonb       NOT NULL,
  model_id        text        NOT NULL,
  status          text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  reason          text,
  attempts        integer     NOT NULL DEFAULT 0,
  claimed_by      text,
  lease_until     timestamptz,
  model_version   text,
  metrics         jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  FOREIGN KEY (tenant_id, dataset_name, dataset_version) REFERENCES training_datasets (tenant_id, name, version)
);
CREATE INDEX IF NOT EXISTS training_jobs_claimable ON training_jobs (created_at) WHERE status IN ('queued', 'running');

-- What the trainer reported (also on models.training.events), read by the SSE route in order.
CREATE TABLE IF NOT EXISTS training_job_events (
  job_id     uuid        NOT NULL REFERENCES training_jobs (id) ON DELETE CASCADE,
  seq        bigserial   PRIMARY KEY,
  kind       text        NOT NULL,
  detail     jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS training_job_events_job ON training_job_events (job_id, seq);

-- One model version per training job, whichever trainer finishes it: the registry refuses a second.
CREATE UNIQUE INDEX IF NOT EXISTS model_versions_training_job ON model_versions ((manifest -> 'lineage' ->> 'job_id')) WHERE manifest ? 'lineage';
