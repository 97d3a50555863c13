/**
 * Feature drift of every production tabular model, for /metrics: each run measures each one
 * (models/feature-drift.ts) and sets `millrace_model_feature_psi` per feature and
 * `millrace_model_drifting`; the gauges are rebuilt each run, so a version no longer in production
 * leaves them. Runs never overlap; a model that cannot be measured is logged and skipped.
 */
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { Logger } from '../core/logger.ts';
import { metrics } from '../core/metrics.ts';
import type { Pool } from '../core/postgres.ts';
import { featureDrift, type ModelFeatureDrift } from './feature-drift.ts';
import type { DatasetDefinition } from './tabular/dataset-spec.ts';

export interface DriftSettings {
  windowHours: number;
  threshold: number;
}

/** A production version of a model trained on a dataset of whitelisted tables: what feature drift is measured on. */
export interface DriftSubject {
  tenantId: string;
  modelId: string;
  version: string;
  definition: DatasetDefinition;
}

const SUBJECTS = `SELECT m.tenant_id AS "tenantId", v.model_id AS "modelId", v.version,
                         v.manifest -> 'lineage' -> 'dataset' -> 'definition' AS definition
                    FROM model_versions v JOIN models m ON m.id = v.model_id
                   WHERE v.active AND m.tenant_id IS NOT NULL AND v.manifest ->> 'kind' = 'tabular-classifier'`;

/** The production version of `modelId` if it is one drift is measured on. */
export async function driftSubject(db: Pool, modelId: string): Promise<DriftSubject | undefined> {
  const { rows } = await db.query<DriftSubject>(`${SUBJECTS} AND v.model_id = $1`, [modelId]);
  return rows[0];
}

/** Measures every production model once and sets the gauges; returns what it measured by model id. */
export async function measureAll(
  db: Pool,
  clickhouse: ClickHouseClient,
  settings: DriftSettings,
  log: Logger,
): Promise<Map<string, ModelFeatureDrift>> {
  const { rows } = await db.query<DriftSubject>(`${SUBJECTS} ORDER BY v.model_id`);
  const measured = new Map<string, ModelFeatureDrift>();
  for (const subject of rows) {
    try {
      measured.set(subject.modelId, await featureDrift(clickhouse, subject, settings));
    } catch (error) {
      log.warn({ err: error, model_id: subject.modelId }, 'cannot measure feature drift');
    }
  }
  metrics.modelFeaturePsi.reset();
  metrics.modelDrifting.reset();
  for (const subject of rows) {
    const drift = measured.get(subject.modelId);
    if (!drift?.window) continue; // scored nothing: no drift to say
    const labels = { model: subject.modelId, version: subject.version };
    for (const f of drift.features) metrics.modelFeaturePsi.set({ ...labels, feature: f.feature }, f.psi);
    metrics.modelDrifting.set(labels, drift.drifting ? 1 : 0);
  }
  return measured;
}

/** Runs measureAll every `intervalMs` (never two at once) until stopped; 0 never runs it. */
export function startDriftMonitor(
  db: Pool,
  clickhouse: ClickHouseClient,
  settings: DriftSettings & { intervalMs: number },
  log: Logger,
): { stop(): Promise<void> } {
  if (settings.intervalMs === 0) return { stop: async () => {} };
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(() => measureAll(db, clickhouse, settings, log))
      .catch((error: unknown) => log.warn({ err: error }, 'feature drift run failed'));
  }, settings.intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
