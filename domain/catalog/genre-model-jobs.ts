/**
 * Training a tenant's genre model from a labelled upload (sql/postgres/0026): a job row says where
 * it stands (queued, running, succeeded with the version it registered and its held-out quality,
 * or failed with the reason). The run trains the text classifier as the CLI does
 * (models/text-classifier/version.ts), registers the version under the tenant, and makes the
 * model's first version its production version.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../core/logger.ts';
import type { Pool } from '../../core/postgres.ts';
import { MillraceError } from '../../core/errors.ts';
import { activateIfNoneActive, checkVersion, registerChecked } from '../../models/model-registry.ts';
import { labelledExamples, trainVersion, type LabelledRow } from '../../models/text-classifier/version.ts';

export interface GenreModelParams {
  /** Columns joined into each row's text. */
  text: string[];
  /** The column holding each row's genre. */
  label: string;
  dimensions: number;
  epochs: number;
  seed: number;
}

export interface GenreModelJob {
  id: string;
  tenant_id: string;
  model_id: string;
  upload_id: string;
  params: GenreModelParams;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  reason: string | null;
  model_version: string | null;
  metrics: { rows: number; skipped: number; labels: number; held_out: Record<string, number> } | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export class UnknownGenreModelJobError extends MillraceError {
  override name = 'UnknownGenreModelJobError';
  constructor(id: string) {
    super(`no genre model job "${id}"`, { code: 'not_found', status: 404, details: { field: 'id' } });
  }
}

export async function createGenreModelJob(
  db: Pool,
  job: Pick<GenreModelJob, 'tenant_id' | 'model_id' | 'upload_id' | 'params'>,
): Promise<GenreModelJob> {
  const { rows } = await db.query<GenreModelJob>(
    `INSERT INTO genre_model_jobs (id, tenant_id, model_id, upload_id, params) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
    [randomUUID(), job.tenant_id, job.model_id, job.upload_id, JSON.stringify(job.params)],
  );
  return rows[0]!;
}

export async function getGenreModelJob(db: Pool, tenantId: string, id: string): Promise<GenreModelJob> {
  const { rows } = await db.query<GenreModelJob>('SELECT * FROM genre_model_jobs WHERE id = $1 AND tenant_id = $2', [
    id,
    tenantId,
  ]);
  if (!rows[0]) throw new UnknownGenreModelJobError(id);
  return rows[0];
}

/** A job's version: fixed by the job, so the version says which job made it. */
export const versionOfJob = (job: Pick<GenreModelJob, 'id' | 'created_at'>) =>
  `${job.created_at.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${job.id.slice(0, 8)}`;

/**
 * Runs a queued job on the upload's rows to its end: succeeded, or failed with the reason (a
 * refusal's own words; an internal fault is logged, and the job says only that it failed).
 */
export async function runGenreModelJob(
  db: Pool,
  job: GenreModelJob,
  rows: AsyncIterable<LabelledRow>,
  log: Logger,
): Promise<void> {
  const bindings = { job: job.id, model_id: job.model_id };
  try {
    await db.query("UPDATE genre_model_jobs SET status = 'running', updated_at = now() WHERE id = $1", [job.id]);
    const { text, label, dimensions, epochs, seed } = job.params;
    const { examples, skipped } = await labelledExamples(rows, { text, label }, `upload ${job.upload_id}`);
    const version = versionOfJob(job);
    const trained = await trainVersion(examples, {
      id: job.model_id,
      version,
      dimensions,
      epochs,
      seed,
      data: `upload ${job.upload_id}`,
      skipped,
      lineage: { job_id: job.id, upload_id: job.upload_id, text, label },
    });
    const checked = await checkVersion(async (name) => trained.files.get(name));
    await registerChecked(db, checked, `genre model job ${job.id}`, {
      tenantId: job.tenant_id,
      description: `genre classifier: ${trained.labels.length} genres, trained on upload ${job.upload_id}`,
    });
    await activateIfNoneActive(db, job.model_id, version);
    const metrics = {
      rows: examples.length,
      skipped,
      labels: trained.labels.length,
      held_out: trained.heldOut,
    };
    await db.query(
      `UPDATE genre_model_jobs SET status = 'succeeded', model_version = $2, metrics = $3, updated_at = now(), finished_at = now()
        WHERE id = $1`,
      [job.id, version, JSON.stringify(metrics)],
    );
    log.info({ ...bindings, version, held_out: trained.heldOut }, 'genre model trained');
  } catch (error) {
    const refused = error instanceof MillraceError && error.status < 500;
    if (!refused) log.error({ ...bindings, err: error }, 'genre model job failed');
    await db.query(
      `UPDATE genre_model_jobs SET status = 'failed', reason = $2, updated_at = now(), finished_at = now() WHERE id = $1`,
      [job.id, refused ? error.message : 'training failed (an internal error, logged by the API)'],
    );
  }
}
