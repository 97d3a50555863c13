-- Shadow versions (models/shadows.ts): a version attached in shadow mode scores the same records as
-- the active version of its model, its outputs going to ClickHouse only (model_shadow_scores).
-- Attaching or detaching notifies millrace_model_activated like an activation, so the scoring
-- processors pick it up without a restart.
CREATE TABLE IF NOT EXISTS model_shadows (
  model_id    text        NOT NULL,
  version     text        NOT NULL,
  attached_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, version),
  FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);
