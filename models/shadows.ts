/**
 * Shadow versions (sql/postgres/0015_model_shadows.sql): a version attached in shadow mode scores
 * the same records as its model's active version, its scores going to ClickHouse only, to be
 * compared with the active version's before it is activated. A model may have several. Attaching
 * and detaching notify like an activation, so scoring processors follow without a restart.
 */
import { inTransaction, type Pool } from '../core/postgres.ts';
import {
  activeVersion,
  ACTIVATED_CHANNEL,
  lockModelRow,
  UnknownVersionError,
  type ModelVersion,
} from './model-registry.ts';
import { MillraceError } from '../core/errors.ts';

export interface Shadow {
  model_id: string;
  version: string;
  attached_at: Date;
}

/** What serves a model: its active version and the versions attached in shadow mode (version order). */
export interface Serving {
  active: ModelVersion;
  shadows: string[];
}

export class ShadowOfActiveError extends MillraceError {
  override name = 'ShadowOfActiveError';
  constructor(message: string) {
    super(message, { code: 'conflict', status: 409, details: { field: 'version' } });
  }
}

/** Attaches `version` in shadow mode (again: changes nothing); the active version cannot shadow itself. */
export async function attachShadow(db: Pool, modelId: string, version: string): Promise<Shadow> {
  return inTransaction(db, async (client) => {
    await lockModelRow(client, modelId);
    const { rows } = await client.query<{ active: boolean; archived: boolean }>(
      'SELECT active, archived_at IS NOT NULL AS archived FROM model_versions WHERE model_id = $1 AND version = $2',
      [modelId, version],
    );
    if (!rows[0]) throw new UnknownVersionError(modelId, version);
    if (rows[0].active)
      throw new ShadowOfActiveError(`${modelId} ${version} is the active version: it cannot shadow itself`);
    if (rows[0].archived)
      throw new ShadowOfActiveError(`${modelId} ${version} is archived: move it to staging before shadowing it`);
    await client.query('INSERT INTO model_shadows (model_id, version) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      modelId,
      version,
    ]);
    await client.query('SELECT pg_notify($1, $2)', [ACTIVATED_CHANNEL, modelId]);
    const attached = await client.query<Shadow>(
      'SELECT model_id, version, attached_at FROM model_shadows WHERE model_id = $1 AND version = $2',
      [modelId, version],
    );
    return attached.rows[0]!;
  });
}

/** Detaches a shadow version; a not_found error when it is not attached. */
export async function detachShadow(db: Pool, modelId: string, version: string): Promise<Shadow> {
  return inTransaction(db, async (client) => {
    await lockModelRow(client, modelId);
    const { rows } = await client.query<Shadow>(
      'DELETE FROM model_shadows WHERE model_id = $1 AND version = $2 RETURNING model_id, version, attached_at',
      [modelId, version],
    );
    if (!rows[0])
      throw new MillraceError(`${modelId} ${version} is not attached in shadow mode`, {
        code: 'not_found',
        status: 404,
        details: { field: 'version' },
      });
    await client.query('SELECT pg_notify($1, $2)', [ACTIVATED_CHANNEL, modelId]);
    return rows[0];
  });
}

/**
 * The active version and the shadows, read in one snapshot; null when no version is active. A
 * version activated while attached is no longer a shadow here (it scores as the active one).
 */
export async function servingVersions(db: Pool, modelId: string): Promise<Serving | null> {
  return inTransaction(db, async (client) => {
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const active = await activeVersion(client, modelId);
    if (!active) return null;
    const { rows } = await client.query<{ version: string }>(
      'SELECT version FROM model_shadows WHERE model_id = $1 AND version <> $2 ORDER BY version',
      [modelId, active.version],
    );
    return { active, shadows: rows.map((r) => r.version) };
  });
}
