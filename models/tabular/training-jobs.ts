/**
 * Training jobs in Postgres (sql/postgres/0014_training.sql). Postgres, not the Kafka offset, is
 * what says whether a job ran: a trainer claims a job with a lease it renews while training, and
 * any trainer claims a queued job or one whose lease ran out (its trainer died). Events are kept
 * in order per job for the SSE route, and published to models.training.events.
 */
import { inTransaction, type Pool, type PoolClient } from '../../core/postgres.ts';
import type { AvroProducer } from '../../core/producer.ts';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface TrainingJob {
  id: string;
  tenant_id: string;
  dataset_name: string;
  dataset_version: number;
  algorithm: string;
  params: Record<string, unknown>;
  model_id: string;
  status: JobStatus;
  reason: string | null;
  attempts: number;
  claimed_by: string | null;
  model_version: string | null;
  metrics: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export interface JobEvent {
  seq: string;
  job_id: string;
  kind: 'queued' | 'started' | 'progress' | 'evaluated' | 'registered' | 'done' | 'failed';
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
>;

/**
 * Creates the job unless it exists (a request delivered again), with its `queued` event: both
 * commit only after the event is on models.training.events, so no trainer can claim the job (and
 * publish `started`) before `queued` is there. True when created.
 */
export async function createJob(db: Pool, publish: PublishEvent, job: NewJob): Promise<boolean> {
  return inTransaction(db, async (client) => {
    const { rowCount } = await client.query(
      `INSERT INTO training_jobs (id, tenant_id, dataset_name, dataset_version, algorithm, params, model_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
      [
        job.id,
        job.tenant_id,
        job.dataset_name,
        job.dataset_version,
        job.algorithm,
        JSON.stringify(job.params),
        job.model_id,
      ],
    );
    if (rowCount === 1)
      await insertEvent(client, publish, job, 'queued', {
        dataset: job.dataset_name,
        dataset_version: job.dataset_version,
        algorithm: job.algorithm,
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

/** Claims the oldest queued job, or one whose lease ran out, for `worker`. */
export async function claimJob(db: Pool, worker: string, leaseMs: number): Promise<TrainingJob | null> {
  const { rows } = await db.query<TrainingJob>(
    `UPDATE training_jobs SET status = 'running', claimed_by = $1, lease_until = now() + $2 * interval '1 millisecond',
            attempts = attempts + 1, updated_at = now()
      WHERE id = (SELECT id FROM training_jobs
                   WHERE status = 'queued' OR (status = 'running' AND lease_until < now())
                   ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING *`,
    [worker, leaseMs],
  );
  return rows[0] ?? null;
}

/** Extends the lease; false when the job is no longer this worker's (its lease ran out and another claimed it). */
export async function renewLease(db: Pool, id: string, worker: string, leaseMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE training_jobs SET lease_until = now() + $3 * interval '1 millisecond', updated_at = now() WHERE id = $1 AND claimed_by = $2 AND status = 'running'`,
    [id, worker, leaseMs],
  );
  return rowCount === 1;
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
 * Ends the job `worker` holds, with its terminal event (`done` or `failed`) in the same transaction;
 * false when the job is no longer this worker's (another trainer took it over) or had ended.
 */
export async function finishJob(
  db: Pool,
  publish: PublishEvent,
  job: Pick<TrainingJob, 'id' | 'tenant_id'>,
  worker: string,
  outcome:
    | { status: 'succeeded'; model_version: string; metrics: Record<string, unknown> }
    | { status: 'failed'; reason: string },
  event: { kind: 'done' | 'failed'; detail: Record<string, unknown> },
): Promise<boolean> {
  return holding(db, job.id, worker, async (client) => {
    await client.query(
      `UPDATE training_jobs SET status = $2, reason = $3, model_version = $4, metrics = $5, lease_until = NULL, finished_at = now(), updated_at = now() WHERE id = $1`,
      [
        job.id,
        outcome.status,
        outcome.status === 'failed' ? outcome.reason : null,
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
