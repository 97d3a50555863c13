-- The model registry (models/registry.ts): each version of a model is a manifest directory stored
-- whole, the manifest as jsonb for queries and every file (manifest.json included, byte for byte)
-- as bytea, so any process can load a version without sharing a filesystem. One version per model
-- is active; processors follow it (NOTIFY millrace_model_activated).
CREATE TABLE IF NOT EXISTS models (
  id          text        PRIMARY KEY,
  description text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS model_versions (
  model_id     text        NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  version      text        NOT NULL,
  sha256       text        NOT NULL,  -- over every file's name and sha256 (models/registry.ts versionSha256)
  manifest     jsonb       NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  active       boolean     NOT NULL DEFAULT false,
  activated_at timestamptz,
  PRIMARY KEY (model_id, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS model_versions_one_active ON model_versions (model_id) WHERE active;

CREATE TABLE IF NOT EXISTS model_version_files (
  model_id text  NOT NULL,
  version  text  NOT NULL,
  name     text  NOT NULL,
  sha256   text  NOT NULL,
  content  bytea NOT NULL,
  PRIMARY KEY (model_id, version, name),
  FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);
