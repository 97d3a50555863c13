/**
 * The model registry in Postgres (sql/postgres/0008_model_registry.sql). A version is a manifest
 * directory: `manifest.json` (`id`, `version`, `models[].file` and `.sha256`) and the files it
 * lists. Registering stores all of it, the files as bytea, so any process on any machine loads an
 * activated version from Postgres alone (`loadVersion`), checked against the version's sha256.
 * A version's content never changes: the same version with other bytes is refused.
 *
 * One version per model is active. `activateVersion` switches it in a transaction that ends with
 * `NOTIFY millrace_model_activated, '<model id>'` (attaching or detaching a shadow version,
 * models/shadows.ts, notifies the same way); `watchActiveVersion` follows the active version of a
 * model with LISTEN on a dedicated connection (re-established when it drops) and a periodic check
 * for whatever a lost connection missed; `watchModel` follows any view of what serves a model.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { listenToChannel } from '../core/pg-listen.ts';
import type { Logger } from '../core/logger.ts';
import { inTransaction, type Pool, type PoolClient } from '../core/postgres.ts';
import { MillraceError, type MillraceErrorOptions } from '../core/errors.ts';
import type { Viewer } from '../core/topic-pages.ts';

export const ACTIVATED_CHANNEL = 'millrace_model_activated';
const MANIFEST_FILE = 'manifest.json';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/;
export const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;

/** What the registry relies on; a manifest may carry anything else (finance's holds formulas and sources). */
const manifestSchema = z.object({
  id: z.string().regex(MODEL_ID, 'lower-case letters, digits, ".", "_" or "-"'),
  version: z.string().regex(VERSION, 'letters, digits, ".", "+", "_" or "-"'),
  description: z.string().optional(),
  models: z
    .array(
      z.object({
        // a plain file name: the directory is rebuilt from these names when a version is loaded
        file: z.string().regex(/^\w[\w.-]*$/, 'a file name in the manifest directory'),
        sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits'),
      }),
    )
    .min(1, 'at least one model file'),
});

export class ModelRegistryError extends MillraceError {
  override name = 'ModelRegistryError';
  constructor(message: string, options: MillraceErrorOptions = {}) {
    super(message, { code: 'model_registry', ...options });
  }
}

/** The version exists with other content: a version's bytes never change. */
export class VersionConflictError extends ModelRegistryError {
  override name = 'VersionConflictError';
  constructor(message: string) {
    super(message, { code: 'version_conflict', status: 409, details: { field: 'version' } });
  }
}

export class UnknownModelError extends ModelRegistryError {
  override name = 'UnknownModelError';
  constructor(readonly modelId: string) {
    super(`no model "${modelId}" in the registry`, { code: 'not_found', status: 404, details: { field: 'id' } });
  }
}

/** The model id is another owner's: a tenant's ids are `<tenant>.<name>`, so only a platform model can be in the way. */
export class ModelOwnerError extends ModelRegistryError {
  override name = 'ModelOwnerError';
  constructor(message: string) {
    super(message, { code: 'conflict', status: 409, details: { field: 'id' } });
  }
}

export class UnknownVersionError extends ModelRegistryError {
  override name = 'UnknownVersionError';
  constructor(
    readonly modelId: string,
    readonly version: string,
  ) {
    super(`model "${modelId}" has no version "${version}"`, {
      code: 'not_found',
      status: 404,
      details: { field: 'version' },
    });
  }
}

interface VersionFile {
  name: string;
  sha256: string;
  content: Buffer;
}

/** A version's identity: sha256 over each file's name and sha256, in name order (manifest.json included). */
export function versionSha256(files: readonly { name: string; sha256: string }[]): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))
    hash.update(`${f.name}\0${f.sha256}\n`);
  return hash.digest('hex');
}

export type Manifest = Record<string, unknown> & z.infer<typeof manifestSchema>;

/** A version's files, checked: the manifest parsed, each listed file present with its sha256. */
export interface CheckedVersion {
  manifest: Manifest;
  files: VersionFile[];
  sha256: string;
}

/** A version's files that do not make a version: a refusal, 400, naming the file and the fault. */
export class InvalidVersionError extends ModelRegistryError {
  override name = 'InvalidVersionError';
  constructor(message: string, field = 'manifest') {
    super(message, { code: 'invalid_model', status: 400, details: { field } });
  }
}

/**
 * Checks a version given as its files (`manifest.json` and every file it lists, by name; `read`
 * gives undefined for a file that is not there): the manifest's shape, and each listed file
 * against its sha256. `where` names a file in messages.
 */
export async function checkVersion(
  read: (name: string) => Promise<Buffer | undefined>,
  where: (name: string) => string = (name) => name,
): Promise<CheckedVersion> {
  const raw = await read(MANIFEST_FILE);
  if (!raw) throw new InvalidVersionError(`${where(MANIFEST_FILE)}: not found`);
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new InvalidVersionError(`${where(MANIFEST_FILE)}: not JSON (${(error as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidVersionError(`${where(MANIFEST_FILE)}: ${issue.path.join('.') || 'manifest'}: ${issue.message}`);
  }
  const files: VersionFile[] = [{ name: MANIFEST_FILE, sha256: sha256(raw), content: raw }];
  for (const entry of parsed.data.models) {
    if (files.some((f) => f.name === entry.file)) continue; // several models may share a file
    const content = await read(entry.file);
    if (!content) throw new InvalidVersionError(`${where(entry.file)}: not found`, entry.file);
    const actual = sha256(content);
    if (actual !== entry.sha256)
      throw new InvalidVersionError(
        `${where(entry.file)}: sha256 ${actual} is not the manifest's ${entry.sha256}`,
        entry.file,
      );
    files.push({ name: entry.file, sha256: actual, content });
  }
  return { manifest: { ...(json as Record<string, unknown>), ...parsed.data }, files, sha256: versionSha256(files) };
}

/** Reads a manifest directory, checking every listed file against its sha256 in the manifest. */
export function readVersionDir(dir: string): Promise<CheckedVersion> {
  return checkVersion(
    (name) =>
      readFile(path.join(dir, name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw new ModelRegistryError(`${path.join(dir, name)}: ${error.message}`);
      }),
    (name) => path.join(dir, name),
  );
}

export interface ModelVersion {
  model_id: string;
  version: string;
  sha256: string;
  active: boolean;
  created_at: Date;
  activated_at: Date | null;
  archived_at: Date | null;
}

const VERSION_COLUMNS = 'model_id, version, sha256, active, created_at, activated_at, archived_at';

/**
 * Where a version stands: `production` is the active version (one per model, what the processors
 * and the API score with), `archived` is set aside, `staging` every other one.
 */
export const STAGES = ['staging', 'production', 'archived'] as const;
export type Stage = (typeof STAGES)[number];
export const stageOf = (v: Pick<ModelVersion, 'active' | 'archived_at'>): Stage =>
  v.active ? 'production' : v.archived_at ? 'archived' : 'staging';

/** A move between stages that the version's state does not allow. */
export class StageConflictError extends ModelRegistryError {
  override name = 'StageConflictError';
  constructor(message: string) {
    super(message, { code: 'conflict', status: 409, details: { field: 'stage' } });
  }
}

export interface RegisterOptions {
  description?: string;
  /** The owner of a model created by this registration; null or absent: the platform. */
  tenantId?: string | null;
  /**
   * Runs first in the registration's transaction and may throw to register nothing: a training
   * job's trainer checks there, under the job's row lock, that the job is still its own and not
   * cancelled (models/tabular/version.ts).
   */
  precondition?: (client: PoolClient) => Promise<void>;
}

/**
 * Registers the manifest directory `dir` as a version of the model its manifest names (the model
 * is created on first use, owned by `tenantId`, or by the platform when it is null). The same
 * version with the same content again changes nothing (`created: false`); with other content it
 * is refused, as is a version of a model another owner has.
 */
export async function registerVersion(
  db: Pool,
  dir: string,
  options: RegisterOptions = {},
): Promise<ModelVersion & { created: boolean }> {
  return registerChecked(db, await readVersionDir(dir), dir, options);
}

/** Registers a checked version (registerVersion); `from` names where it came from in a conflict. */
export async function registerChecked(
  db: Pool,
  { manifest, files, sha256: digest }: CheckedVersion,
  from: string,
  options: RegisterOptions = {},
): Promise<ModelVersion & { created: boolean }> {
  const description = options.description ?? manifest.description ?? null;
  const owner = options.tenantId ?? null;
  if (owner !== null && !manifest.id.startsWith(`${owner}.`))
    throw new InvalidVersionError(
      `a model of tenant "${owner}" has an id that starts with "${owner}."; got "${manifest.id}"`,
      'id',
    );
  return inTransaction(db, async (client) => {
    await options.precondition?.(client);
    const model = await client.query(
      `INSERT INTO models (id, description, tenant_id) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET description = COALESCE(EXCLUDED.description, models.description)
       WHERE models.tenant_id IS NOT DISTINCT FROM EXCLUDED.tenant_id`,
      [manifest.id, description, owner],
    );
    if (model.rowCount === 0)
      throw new ModelOwnerError(
        owner === null
          ? `${manifest.id} is a tenant's model: the platform cannot register versions of it`
          : `${manifest.id} is a platform model: a tenant cannot register versions of it`,
      );
    const inserted = await client.query<ModelVersion>(
      `INSERT INTO model_versions (model_id, version, sha256, manifest) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING ${VERSION_COLUMNS}`,
      [manifest.id, manifest.version, digest, manifest],
    );
    if (inserted.rows[0]) {
      for (const f of files) {
        await client.query(
          'INSERT INTO model_version_files (model_id, version, name, sha256, content) VALUES ($1, $2, $3, $4, $5)',
          [manifest.id, manifest.version, f.name, f.sha256, f.content],
        );
      }
      return { ...inserted.rows[0], created: true };
    }
    const { rows } = await client.query<ModelVersion>(
      `SELECT ${VERSION_COLUMNS} FROM model_versions WHERE model_id = $1 AND version = $2`,
      [manifest.id, manifest.version],
    );
    const existing = rows[0]!;
    if (existing.sha256 !== digest) {
      throw new VersionConflictError(
        `${manifest.id} ${manifest.version} is already registered with sha256 ${existing.sha256}, and ${from} has sha256 ${digest}: ` +
          'a version never changes, register this content under a new version',
      );
    }
    return { ...existing, created: false };
  });
}

export interface ModelSummary {
  id: string;
  /** The tenant that owns it; null: a platform model, read-only to tenants. */
  tenant_id: string | null;
  description: string | null;
  created_at: Date;
  active_version: string | null;
  versions: number;
}

/** Who sees a model: its tenant, everyone for a platform model, an operator all of them. */
const visibleTo = (viewer: Viewer, param: string) =>
  'operator' in viewer ? 'true' : `(m.tenant_id IS NULL OR m.tenant_id = ${param})`;
const viewerParams = (viewer: Viewer) => ('operator' in viewer ? [] : [viewer.tenantId]);

export async function listModels(db: Pool, viewer: Viewer): Promise<ModelSummary[]> {
  const { rows } = await db.query<ModelSummary>(
    `SELECT m.id, m.tenant_id, m.description, m.created_at,
            (SELECT v.version FROM model_versions v WHERE v.model_id = m.id AND v.active) AS active_version,
            (SELECT count(*)::int FROM model_versions v WHERE v.model_id = m.id) AS versions
       FROM models m WHERE ${visibleTo(viewer, '$1')} ORDER BY m.id`,
    viewerParams(viewer),
  );
  return rows;
}

/** The model's owner (null: the platform); UnknownModelError when there is none the viewer may see. */
export async function visibleModel(db: Pool, modelId: string, viewer: Viewer): Promise<{ tenant_id: string | null }> {
  const { rows } = await db.query<{ tenant_id: string | null }>(
    `SELECT m.tenant_id FROM models m WHERE m.id = $${viewerParams(viewer).length + 1} AND ${visibleTo(viewer, '$1')}`,
    [...viewerParams(viewer), modelId],
  );
  if (!rows[0]) throw new UnknownModelError(modelId);
  return rows[0];
}

/** The versions of a model, oldest first, each saying whether it is attached in shadow mode; UnknownModelError when the viewer has no such model. */
export async function listVersions(
  db: Pool,
  modelId: string,
  viewer: Viewer,
): Promise<(ModelVersion & { shadow: boolean; manifest: Record<string, unknown> })[]> {
  await visibleModel(db, modelId, viewer);
  const { rows } = await db.query<ModelVersion & { shadow: boolean; manifest: Record<string, unknown> }>(
    `SELECT ${VERSION_COLUMNS.split(', ')
      .map((c) => `v.${c}`)
      .join(', ')}, v.manifest,
            EXISTS (SELECT 1 FROM model_shadows s WHERE s.model_id = v.model_id AND s.version = v.version AND NOT v.active) AS shadow
       FROM model_versions v WHERE v.model_id = $1 ORDER BY v.created_at, v.version`,
    [modelId],
  );
  return rows;
}

/** One version of a model, with the name, sha256 and size of each of its files. */
export async function getVersion(
  db: Pool,
  modelId: string,
  version: string,
): Promise<
  ModelVersion & { manifest: Record<string, unknown>; files: { name: string; sha256: string; bytes: number }[] }
> {
  const { rows } = await db.query<ModelVersion & { manifest: Record<string, unknown> }>(
    `SELECT ${VERSION_COLUMNS}, manifest FROM model_versions WHERE model_id = $1 AND version = $2`,
    [modelId, version],
  );
  if (!rows[0]) throw new UnknownVersionError(modelId, version);
  const files = await db.query<{ name: string; sha256: string; bytes: number }>(
    'SELECT name, sha256, octet_length(content) AS bytes FROM model_version_files WHERE model_id = $1 AND version = $2 ORDER BY name',
    [modelId, version],
  );
  return { ...rows[0], files: files.rows };
}

/** A file of a version, byte for byte as registered. */
export async function versionFile(
  db: Pool,
  modelId: string,
  version: string,
  name: string,
): Promise<{ sha256: string; content: Buffer }> {
  const { rows } = await db.query<{ sha256: string; content: Buffer }>(
    'SELECT sha256, content FROM model_version_files WHERE model_id = $1 AND version = $2 AND name = $3',
    [modelId, version, name],
  );
  if (!rows[0]) {
    await getVersion(db, modelId, version); // the version itself may be what is missing
    throw new ModelRegistryError(`${modelId} ${version} has no file "${name}"`, {
      code: 'not_found',
      status: 404,
      details: { field: 'name' },
    });
  }
  return rows[0];
}

export async function activeVersion(db: Pick<PoolClient, 'query'>, modelId: string): Promise<ModelVersion | null> {
  const { rows } = await db.query<ModelVersion>(
    `SELECT ${VERSION_COLUMNS} FROM model_versions WHERE model_id = $1 AND active`,
    [modelId],
  );
  return rows[0] ?? null;
}

export type ActivatedVersion = ModelVersion & { previous_version: string | null };

/**
 * Makes `version` the active version of `modelId`; the watchers are notified when the transaction
 * commits. Activating the active version again only notifies.
 */
export async function activateVersion(db: Pool, modelId: string, version: string): Promise<ActivatedVersion> {
  return (await activate(db, modelId, version, false))!;
}

/**
 * Registers a version shipped with the code (its manifest directory `dir`) and activates it when
 * its model has no active version, so a fresh install scores with it and an operator's choice stays.
 */
export async function registerBundledVersion(db: Pool, dir: string, description: string): Promise<void> {
  const bundled = await registerVersion(db, dir, { description });
  await activateIfNoneActive(db, bundled.model_id, bundled.version);
}

/** Activates `version` unless the model already has an active version (then returns null). */
export async function activateIfNoneActive(
  db: Pool,
  modelId: string,
  version: string,
): Promise<ActivatedVersion | null> {
  return activate(db, modelId, version, true);
}

/**
 * Moves a version to `stage`. Production activates it (the one before goes back to staging). The
 * production version leaves production only when another is promoted, so a model that has served
 * never stops serving; a version attached in shadow mode is detached before it is archived.
 */
export async function setStage(db: Pool, modelId: string, version: string, stage: Stage): Promise<ModelVersion> {
  if (stage === 'production') return activateVersion(db, modelId, version);
  return inTransaction(db, async (client) => {
    await lockModelRow(client, modelId);
    const { rows } = await client.query<ModelVersion & { shadow: boolean }>(
      `SELECT ${VERSION_COLUMNS}, EXISTS (SELECT 1 FROM model_shadows s WHERE s.model_id = $1 AND s.version = $2) AS shadow
         FROM model_versions WHERE model_id = $1 AND version = $2`,
      [modelId, version],
    );
    const current = rows[0];
    if (!current) throw new UnknownVersionError(modelId, version);
    if (current.active)
      throw new StageConflictError(
        `${modelId} ${version} is in production: promote another version, and this one moves to staging`,
      );
    if (stage === 'archived' && current.shadow)
      throw new StageConflictError(`${modelId} ${version} is attached in shadow mode: detach it before archiving`);
    const moved = await client.query<ModelVersion>(
      `UPDATE model_versions SET archived_at = ${stage === 'archived' ? 'COALESCE(archived_at, now())' : 'NULL'}
        WHERE model_id = $1 AND version = $2 RETURNING ${VERSION_COLUMNS}`,
      [modelId, version],
    );
    return moved.rows[0]!;
  });
}

/** Locks the model's row: it serialises activations, stage moves and shadow changes of one model. */
export async function lockModelRow(client: PoolClient, modelId: string): Promise<void> {
  const model = await client.query('SELECT id FROM models WHERE id = $1 FOR UPDATE', [modelId]);
  if (model.rowCount === 0) throw new UnknownModelError(modelId);
}

async function activate(
  db: Pool,
  modelId: string,
  version: string,
  ifNoneActive: boolean,
): Promise<ActivatedVersion | null> {
  return inTransaction(db, async (client) => {
    // without the lock, two activations at once could both leave theirs active
    await lockModelRow(client, modelId);
    const current = await client.query<{ version: string }>(
      'SELECT version FROM model_versions WHERE model_id = $1 AND active',
      [modelId],
    );
    const previous = current.rows[0]?.version ?? null;
    if (ifNoneActive && previous !== null) return null;
    const exists = await client.query<{ archived: boolean }>(
      'SELECT archived_at IS NOT NULL AS archived FROM model_versions WHERE model_id = $1 AND version = $2',
      [modelId, version],
    );
    if (!exists.rows[0]) throw new UnknownVersionError(modelId, version);
    if (exists.rows[0].archived)
      throw new StageConflictError(`${modelId} ${version} is archived: move it to staging before production`);
    if (previous !== version) {
      await client.query('UPDATE model_versions SET active = false WHERE model_id = $1 AND active', [modelId]);
      await client.query(
        'UPDATE model_versions SET active = true, activated_at = now() WHERE model_id = $1 AND version = $2',
        [modelId, version],
      );
    }
    await client.query('SELECT pg_notify($1, $2)', [ACTIVATED_CHANNEL, modelId]);
    const { rows } = await client.query<ModelVersion>(
      `SELECT ${VERSION_COLUMNS} FROM model_versions WHERE model_id = $1 AND version = $2`,
      [modelId, version],
    );
    return { ...rows[0]!, previous_version: previous };
  });
}

/**
 * Rebuilds a version's directory from Postgres in a temporary directory, checks it against the
 * version's sha256, hands it to `load` (e.g. `dir => FinanceScorer.load({ dir })`) and removes it.
 */
export async function loadVersion<T>(
  db: Pool,
  modelId: string,
  version: string,
  load: (dir: string) => Promise<T>,
): Promise<T> {
  const { rows: versions } = await db.query<{ sha256: string }>(
    'SELECT sha256 FROM model_versions WHERE model_id = $1 AND version = $2',
    [modelId, version],
  );
  if (!versions[0]) throw new UnknownVersionError(modelId, version);
  const { rows: files } = await db.query<VersionFile>(
    'SELECT name, sha256, content FROM model_version_files WHERE model_id = $1 AND version = $2',
    [modelId, version],
  );
  const corrupt = files.find((f) => sha256(f.content) !== f.sha256);
  if (corrupt || versionSha256(files) !== versions[0].sha256) {
    throw new ModelRegistryError(
      `${modelId} ${version}: the stored files do not match the version's sha256 ${versions[0].sha256}${corrupt ? ` (${corrupt.name})` : ''}`,
    );
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'millrace-model-'));
  try {
    for (const f of files) await writeFile(path.join(dir, f.name), f.content);
    return await load(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface WatchOptions {
  log: Logger;
  /** The fallback: how often the active version is read whatever the notifications say (default 30 s). */
  checkIntervalMs?: number;
  /** First wait before connecting the listener again; doubles up to 30 s (default 1 s). */
  reconnectMs?: number;
}

export interface ActiveVersionWatch {
  /** Reads the active version now and waits for `onActive` if it changed; rejects if either fails. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Calls `onActive` with the active version of `modelId` on start and whenever another one is
 * activated. Calls never overlap; one that throws is retried at the next notification or check,
 * so the previous version stays in use until a new one loads. The first check is awaited: this
 * rejects if it fails, and resolves having called `onActive` unless no version is active.
 */
export function watchActiveVersion(
  db: Pool,
  modelId: string,
  onActive: (version: ModelVersion) => Promise<void>,
  options: WatchOptions,
): Promise<ActiveVersionWatch> {
  return watchModel(
    db,
    modelId,
    () => activeVersion(db, modelId),
    (active) => active.version,
    onActive,
    options,
  );
}

/**
 * Loads each version of `modelId` that becomes active (watchActiveVersion) with `load`, and hands
 * it to `use`, which puts it in place of the one before (and releases that one when it can).
 *
 * @example
 * ```ts
 * const watch = await followActiveVersion(db, 'catalog-genre', loadGenreModel, (m) => (current = m), { log });
 * ```
 */
export function followActiveVersion<T>(
  db: Pool,
  modelId: string,
  load: (dir: string) => Promise<T>,
  use: (loaded: T) => void,
  options: WatchOptions,
): Promise<ActiveVersionWatch> {
  return watchActiveVersion(
    db,
    modelId,
    async ({ version }) => use(await loadVersion(db, modelId, version, load)),
    options,
  );
}

/**
 * Follows what serves `modelId` as watchActiveVersion does, for any view of it: `read` gives it
 * (null: no active version), `identity` tells two apart, `onChange` gets each new one.
 */
export async function watchModel<T>(
  db: Pool,
  modelId: string,
  read: () => Promise<T | null>,
  identity: (state: T) => string,
  onChange: (state: T) => Promise<void>,
  { log, checkIntervalMs = 30_000, reconnectMs = 1000 }: WatchOptions,
): Promise<ActiveVersionWatch> {
  let current: string | undefined;
  let closed = false;
  let running: Promise<void> | undefined;
  let again = false;
  const checkOnce = async () => {
    const state = await read();
    if (!state) {
      log.warn({ model_id: modelId, in_use: current ?? null }, 'the model has no active version');
      return;
    }
    const seen = identity(state);
    if (seen === current) return;
    await onChange(state);
    log.info({ model_id: modelId, version: seen, previous: current ?? null }, 'model version in use');
    current = seen;
  };
  const check = (): Promise<void> => {
    if (running) {
      again = true; // a notification during a load: read again once it is done
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await checkOnce();
      } while (again && !closed);
    })().finally(() => (running = undefined));
    return running;
  };
  const checkInBackground = () =>
    void check().catch((error: Error) =>
      log.error(
        { model_id: modelId, err: error, in_use: current ?? null },
        'cannot switch to the active model version',
      ),
    );

  const listener = await listenToChannel(
    ACTIVATED_CHANNEL,
    (payload) => void (payload === modelId && checkInBackground()),
    {
      log,
      applicationName: 'millrace-model-watch',
      bindings: { model_id: modelId },
      reconnectMs,
      onListening: checkInBackground, // activations while nobody listened were not delivered
    },
  );
  const interval = setInterval(checkInBackground, checkIntervalMs);
  interval.unref();
  const watch: ActiveVersionWatch = {
    check,
    async close() {
      closed = true;
      clearInterval(interval);
      await listener.close();
      await running?.catch(() => undefined);
    },
  };
  try {
    await check();
  } catch (error) {
    await watch.close();
    throw error;
  }
  return watch;
}
