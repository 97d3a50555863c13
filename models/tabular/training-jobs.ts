/**
 * Training jobs in Postgres (sql/postgres/0014_training.sql, 0025_training_job_control.sql).
 * Postgres, not the Kafka offset, is what says whether a job ran: a trainer claims a job (highest
 * priority first, then oldest) with a lease it renews while training, and any trainer claims a
 * queued job or one whose lease ran out (its trainer died). A tenant cancels a queued job at once
 * and a running one by flagging it: its trainer stops at its next step. Events are kept in order
 * per job for the SSE route, and published to models.training.events.
 */
import { inTransaction, type Pool, type PoolClient } from '../../core/postgres.ts';
import type { AvroProducer } from '../../core/producer.ts';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** Lowest and highest job priority; trainers claim the highest first. */
export const PRIORITY = { min: -10, max: 10, default: 0 } as const;

export interface TrainingJob {
  id: string;
  tenant_id: string;
  dataset_name: string;
  dataset_version: number;
  algorithm: string;
  params: Record<string, unknown>;
  model_id: string;
  status: JobStatus;
  priority: number;
  reason: string | null;
  attempts: number;
  claimed_by: string | null;
  model_version: string | null;
  metrics: Record<string, unknown> | null;
  cancel_requested_at: Date | null;
  created_at: Date;
  updated_at: Date;
  /** When a trainer last claimed it. */
  started_at: Date | null;
  finished_at: Date | null;
}

export interface JobEvent {
  seq: string;
  job_id: string;
  kind: 'queued' | 'started' | 'progress' | 'evaluated' | 'registered' | 'done' | 'failed' | 'cancelled';
  detail: Record<string, unknown>;
  created_at: Date;
}

export const EVENTS_TOPIC = 'models.training.events';
export const REQUESTS_TOPIC = 'models.training.requests';
/** A job whose trainer died this many times is failed rather than claimed again. */
export const MAX_ATTEMPTS = 3;

export type NewJob = Pick<
  TrainingJob,
  'id' | 'tenant_id' | 'dataset_name' | 'dataset_version' | 'algorithm' | 'params' | 'model_id'
> & { priority?: number };

/**
 * Creates the job unless it exists (a request delivered again), with its `queued` event: both
 * commit only after the event is on models.training.events, so no trainer can claim the job (and
 * publish `started`) before `queued` is there. True when created.
 */
export async function createJob(db: Pool, publish: PublishEvent, job: NewJob): Promise<boolean> {
  return inTransaction(db, async (client) => {
    const { rowCount } = await client.query(
      `INSERT INTO training_jobs (id, tenant_id, dataset_name, dataset_version, algorithm, params, model_id, priority)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
      [
        job.id,
        job.tenant_id,
        job.dataset_name,
        job.dataset_version,
        job.algorithm,
        JSON.stringify(job.params),
        job.model_id,
        job.priority ?? PRIORITY.default,
      ],
    );
    if (rowCount === 1)
      await insertEvent(client, publish, job, 'queued', {
        dataset: job.dataset_name,
        dataset_version: job.dataset_version,
        algorithm: job.algorithm,
        priority: job.priority ?? PRIORITY.default,
      });
    return rowCount === 1;
  });
}

export async function getJob(db: Pool, tenantId: string, id: string): Promise<TrainingJob | null> {
  const { rows } = await db.query<TrainingJob>('SELECT * FROM training_jobs WHERE id = $1 AND tenant_id = $2', [
    id,
    tenantId,
  ]);
  return rows[0] ?? null;
}

export interface JobFilter {
  status?: JobStatus;
  model_id?: string;
  /** Only jobs with held-out metrics (a run to compare). */
  withMetrics?: boolean;
  limit: number;
  /** The last job of the page before. */
  after?: JobCursor;
}

/** A page boundary: created_at as Postgres writes it (microseconds, which a JS Date would drop) and the id. */
export interface JobCursor {
  created_at: string;
  id: string;
}

/** The tenant's jobs newest first, `limit` of them after `filter.after`, and the cursor of the next page. */
export async function listJobs(
  db: Pool,
  tenantId: string,
  filter: JobFilter,
): Promise<{ jobs: TrainingJob[]; next: JobCursor | null }> {
  const { rows } = await db.query<TrainingJob & { cursor_at: string }>(
    `SELECT *, created_at::text AS cursor_at FROM training_jobs
      WHERE tenant_id = $1
        AND ($2::text IS NULL OR status = $2)
        AND ($3::text IS NULL OR model_id = $3)
        AND (NOT $4 OR metrics IS NOT NULL)
        AND ($5::timestamptz IS NULL OR (created_at, id) < ($5::timestamptz, $6::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $7`,
    [
      tenantId,
      filter.status ?? null,
      filter.model_id ?? null,
      filter.withMetrics ?? false,
      filter.after?.created_at ?? null,
      filter.after?.id ?? null,
      filter.limit + 1,
    ],
  );
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    jobs: page.map(({ cursor_at: _, ...job }) => job),
    next: rows.length > filter.limit && last ? { created_at: last.cursor_at, id: last.id } : null,
  };
}

/**
 * What a cancel did: `cancelled` (it was queued, or its trainer's lease had run out), `cancelling` (it runs: its trainer stops at its
 * next step), `ended` (nothing: it had ended), `registered` (nothing: its trainer registered its
 * version already and is finishing it).
 */
export type CancelOutcome =
  | { outcome: 'cancelled' | 'cancelling' | 'ended'; job: TrainingJob }
  | { outcome: 'registered'; job: TrainingJob; version: string };

/**
 * Cancels the tenant's job (null: it has none of that id). Holds the job's row lock, as a trainer
 * registering a version does (holdInTransaction), so a job is either cancelled or registered.
 */
export async function cancelJob(
  db: Pool,
  publish: PublishEvent,
  tenantId: string,
  id: string,
): Promise<CancelOutcome | null> {
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<TrainingJob & { orphaned: boolean }>(
      `SELECT *, status = 'running' AND lease_until < now() AS orphaned FROM training_jobs
        WHERE id = $1 AND tenant_id = $2 FOR UPDATE`,
      [id, tenantId],
    );
    const found = rows[0];
    if (!found) return null;
    const { orphaned, ...job } = found;
    const end = async (reason: string): Promise<CancelOutcome> => {
      const { rows: ended } = await client.query<TrainingJob>(
        `UPDATE training_jobs SET status = 'cancelled', reason = $2, cancel_requested_at = now(), lease_until = NULL,
                finished_at = now(), updated_at = now() WHERE id = $1 RETURNING *`,
        [id, reason],
      );
      await insertEvent(client, publish, job, 'cancelled', { reason });
      return { outcome: 'cancelled', job: ended[0]! };
    };
    if (job.status === 'queued') return end('cancelled while queued');
    if (job.status !== 'running') return { outcome: 'ended', job };
    const { rows: registered } = await client.query<{ version: string }>(
      "SELECT version FROM model_versions WHERE manifest ? 'lineage' AND manifest -> 'lineage' ->> 'job_id' = $1",
      [id],
    );
    if (registered[0]) return { outcome: 'registered', job, version: registered[0].version };
    // its trainer died (the lease ran out): none is there to stop it, so it ends now; a trainer that
    // was only slow to renew finds the job no longer its own at its next check, and registers nothing
    if (orphaned) return end('cancelled while no trainer ran it');
    const { rows: flagged } = await client.query<TrainingJob>(
      `UPDATE training_jobs SET cancel_requested_at = COALESCE(cancel_requested_at, now()), updated_at = now()
        WHERE id = $1 RETURNING *`,
      [id],
    );
    return { outcome: 'cancelling', job: flagged[0]! };
  });
}

/**
 * Claims for `worker` the queued job of highest priority, the oldest of those (or one whose lease
 * ran out): the order of the training_jobs_claimable index. A claimed job whose cancel was asked
 * for while no trainer held it is the claimer's to end `cancelled`.
 */
export async function claimJob(db: Pool, worker: string, leaseMs: number): Promise<TrainingJob | null> {
  const { rows } = await db.query<TrainingJob>(
    `UPDATE training_jobs SET status = 'running', claimed_by = $1, lease_until = now() + $2 * interval '1 millisecond',
            attempts = attempts + 1, started_at = now(), updated_at = now()
      WHERE id = (SELECT id FROM training_jobs
                   WHERE status IN ('queued', 'running') AND (status = 'queued' OR lease_until < now())
                   ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING *`,
    [worker, leaseMs],
  );
  return rows[0] ?? null;
}

/**
 * Whether `worker` still holds a job: `lost` when another trainer claimed it (its lease ran out)
 * or it ended, `cancelling` when its tenant asked to cancel it.
 */
export type Hold = 'held' | 'lost' | 'cancelling';

const holdOf = (rows: { cancelling: boolean }[]): Hold =>
  rows[0] === undefined ? 'lost' : rows[0].cancelling ? 'cancelling' : 'held';

/** Extends the lease, saying whether the job is still this worker's to train. */
export async function renewLease(db: Pool, id: string, worker: string, leaseMs: number): Promise<Hold> {
  const { rows } = await db.query<{ cancelling: boolean }>(
    `UPDATE training_jobs SET lease_until = now() + $3 * interval '1 millisecond', updated_at = now()
      WHERE id = $1 AND claimed_by = $2 AND status = 'running' RETURNING cancel_requested_at IS NOT NULL AS cancelling`,
    [id, worker, leaseMs],
  );
  return holdOf(rows);
}

/** Whether `worker` still holds the job (renewLease's answer, without renewing). */
export async function holdOfJob(db: Pool, id: string, worker: string): Promise<Hold> {
  const { rows } = await db.query<{ cancelling: boolean }>(
    `SELECT cancel_requested_at IS NOT NULL AS cancelling FROM training_jobs WHERE id = $1 AND claimed_by = $2 AND status = 'running'`,
    [id, worker],
  );
  return holdOf(rows);
}

/**
 * Locks the job's row inside the caller's transaction and says whether `worker` still holds it:
 * a registration that goes ahead only when `held` cannot race a cancel (cancelJob takes the lock).
 */
export async function holdInTransaction(client: PoolClient, id: string, worker: string): Promise<Hold> {
  const { rows } = await client.query<{ cancelling: boolean }>(
    `SELECT cancel_requested_at IS NOT NULL AS cancelling FROM training_jobs
      WHERE id = $1 AND claimed_by = $2 AND status = 'running' FOR UPDATE`,
    [id, worker],
  );
  return holdOf(rows);
}

/** Gives a job back to the queue (its trainer is stopping): another trainer claims it at once. */
export async function releaseJob(db: Pool, id: string, worker: string): Promise<void> {
  await db.query(
    `UPDATE training_jobs SET status = 'queued', claimed_by = NULL, lease_until = NULL, attempts = attempts - 1, updated_at = now()
      WHERE id = $1 AND claimed_by = $2 AND status = 'running'`,
    [id, worker],
  );
}

/**
 * Ends the job `worker` holds, with its terminal event (`done`, `failed` or `cancelled`) in the same transaction;
 * false when the job is no longer this worker's (another trainer took it over) or had ended.
 */
export async function finishJob(
  db: Pool,
  publish: PublishEvent,
  job: Pick<TrainingJob, 'id' | 'tenant_id'>,
  worker: string,
  outcome:
    | { status: 'succeeded'; model_version: string; metrics: Record<string, unknown> }
    | { status: 'failed' | 'cancelled'; reason: string },
  event: { kind: 'done' | 'failed' | 'cancelled'; detail: Record<string, unknown> },
): Promise<boolean> {
  return holding(db, job.id, worker, async (client) => {
    await client.query(
      `UPDATE training_jobs SET status = $2, reason = $3, model_version = $4, metrics = $5, lease_until = NULL, finished_at = now(), updated_at = now() WHERE id = $1`,
      [
        job.id,
        outcome.status,
        outcome.status === 'succeeded' ? null : outcome.reason,
        outcome.status === 'succeeded' ? outcome.model_version : null,
        outcome.status === 'succeeded' ? JSON.stringify(outcome.metrics) : null,
      ],
    );
    await insertEvent(client, publish, job, event.kind, event.detail);
  });
}

/**
 * Events after `afterSeq`, in order. `ORDER BY e.seq`, not `seq`: a bare name would sort by the
 * output column, the text, and put 10 before 9.
 */
export async function jobEvents(db: Pool, jobId: string, afterSeq: string): Promise<JobEvent[]> {
  const { rows } = await db.query<JobEvent>(
    'SELECT e.seq::text AS seq, e.job_id, e.kind, e.detail, e.created_at FROM training_job_events e WHERE e.job_id = $1 AND e.seq > $2 ORDER BY e.seq',
    [jobId, afterSeq],
  );
  return rows;
}

export interface TrainingEventRecord {
  id: string;
  tenant_id: string;
  event_time: number;
  job_id: string;
  kind: string;
  detail_json: string;
}

/** Sends an event record to models.training.events. */
export type PublishEvent = (event: TrainingEventRecord) => Promise<void>;

export const publishWith =
  (producer: AvroProducer): PublishEvent =>
  async (event) => {
    await producer.send(EVENTS_TOPIC, [{ value: event }]); // keyed by job_id, as the catalogue says
  };

/**
 * Records an event of the job `worker` holds; false (nothing recorded) when the job is no longer
 * its own: a trainer whose lease ran out and was taken over stops at its next event.
 */
export async function recordEvent(
  db: Pool,
  publish: PublishEvent,
  job: Pick<TrainingJob, 'id' | 'tenant_id'>,
  worker: string,
  kind: JobEvent['kind'],
  detail: Record<string, unknown>,
): Promise<boolean> {
  return holding(db, job.id, worker, (client) => insertEvent(client, publish, job, kind, detail));
}

/**
 * Runs `work` in a transaction holding the job's row lock, if `worker` holds the job. Writers of one
 * job's events take it (createJob's new row is locked by its own transaction), so each job's events
 * commit in seq order, and reach Kafka in that order too, even while a trainer that lost its lease
 * still runs: reading "after the last seq sent" never skips one committed late.
 */
async function holding(
  db: Pool,
  jobId: string,
  worker: string,
  work: (client: PoolClient) => Promise<void>,
): Promise<boolean> {
  return inTransaction(db, async (client) => {
    const { rowCount } = await client.query(
      "SELECT 1 FROM training_jobs WHERE id = $1 AND claimed_by = $2 AND status = 'running' FOR UPDATE",
      [jobId, worker],
    );
    if (rowCount === 1) await work(client);
    return rowCount === 1;
  });
}

/** Inserts an event (for the SSE route) and publishes it to models.training.events, inside the caller's transaction. */
async function insertEvent(
  client: PoolClient,
  publish: PublishEvent,
  job: Pick<TrainingJob, 'id' | 'tenant_id'>,
  kind: JobEvent['kind'],
  detail: Record<string, unknown>,
): Promise<void> {
  const { rows } = await client.query<{ seq: string; created_at: Date }>(
    'INSERT INTO training_job_events (job_id, kind, detail) VALUES ($1, $2, $3) RETURNING seq::text, created_at',
    [job.id, kind, JSON.stringify(detail)],
  );
  const { seq, created_at } = rows[0]!;
  await publish({
    id: `${job.id}:${seq}`,
    tenant_id: job.tenant_id,
    event_time: created_at.getTime(),
    job_id: job.id,
    kind,
    detail_json: JSON.stringify(detail),
  });
}
