/**
 * Bulk predictions: a file of statements (CSV with a header, or JSON lines) is streamed to disk
 * under a size cap, then read row by row in the background. Each valid row is claimed in
 * `finance_statements` (unique per tenant, company, period end and kind) under its deterministic
 * id and published, one Avro record per row, to `finance.statements.raw` through the API's
 * Ingestor; the scoring processor and the sinks do the rest. A refused row (malformed CSV, a
 * missing or invalid field, a statement already submitted) is recorded with its row number, the
 * field and the reason, and never stops the others.
 *
 * The job's counts are derived, not incremented: accepted = rows claimed by the job, scored = those
 * whose score has reached `finance_scores` in Postgres, rejected = rows in `finance_job_rejections`.
 * States: publishing -> scoring (every row read, accepted ones in Kafka) -> completed (all scored),
 * or failed (with the error; the rows of the batch that could not be published are released), or
 * cancelled while publishing (`cancel`: the rows not yet sent are never sent; those sent are scored).
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../../core/logger.ts';
import type { Pool } from '../../../core/postgres.ts';
import type { ResolvedTopic } from '../../../core/topic-checks.ts';
import { readHeader, readRows } from '../uploads/rows.ts';
import type { Format } from '../uploads/file-shape.ts';
import { receiveFile, type ReceiveOptions } from '../uploads/spool.ts';
import type { Encoding } from '../uploads/charset.ts';
import { UploadError, type UploadStatus } from '../uploads/upload-error.ts';
import { checkRow, REQUIRED_COLUMNS, StatementInputError, type CheckedStatement } from './statements.ts';

/** An UploadError of a bulk job: the same statuses, but a body that is not text is `unsupported_media_type`. */
export class BulkError extends UploadError {
  constructor(status: UploadStatus, message: string, field?: string) {
    super(status, message, field, status === 415 ? 'unsupported_media_type' : undefined);
  }
}

/** What publishes the records: the API's Ingestor (validated against the registry, one result per record, in order). */
export interface Publisher {
  ingest(
    topic: ResolvedTopic,
    tenantId: string,
    records: unknown[],
  ): Promise<
    (
      | { index: number; id: string; partition: number; offset: string }
      | { index: number; error: string; message: string; field: string }
    )[]
  >;
}

/** Rows per claim-and-publish round trip. */
const BATCH = 500;
/** A publishing job whose progress is older than this has lost its process and is taken over (see resumeIfStale). */
export const STALE_MS = 120_000;
/** Rejections shown in the job itself; the rest page through `rejections`. */
export const REJECTIONS_IN_JOB = 100;

/** How a job's file is read: recorded with the job, so a resumed job reads it the same way. */
interface FileShape {
  format: Format;
  delimiter: string;
  encoding: Encoding;
}

export type JobState = 'publishing' | 'scoring' | 'completed' | 'failed' | 'cancelled';

export interface Rejection {
  row_number: number;
  field: string | null;
  reason: string;
}

export interface Job {
  id: string;
  type: 'finance_bulk';
  state: JobState;
  filename: string | null;
  format: Format;
  /** the text encoding the file was read in: declared, or detected */
  encoding: Encoding;
  bytes: number;
  /** rows read so far; total_rows once every row is read */
  rows_read: number;
  total_rows: number | null;
  accepted: number;
  scored: number;
  rejected: number;
  rejections: Rejection[];
  error: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

interface JobRow {
  id: string;
  state: JobState;
  filename: string | null;
  format: Format;
  encoding: Encoding;
  bytes: string;
  rows_read: number;
  total_rows: number | null;
  error: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
  accepted: string;
  scored: string;
  rejected: string;
}

export class FinanceBulk {
  /** Jobs being published by this process, so a test or a shutdown can wait for them. */
  readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Pool,
    private readonly dir: string,
    private readonly publisher: Publisher,
    private readonly topic: () => ResolvedTopic,
    private readonly log: Logger,
  ) {}

  private fileOf(id: string): string {
    return path.join(this.dir, id, 'statements');
  }

  /**
   * Streams the body to disk (413 past `maxBytes`, 415 when binary, 400 when empty, not valid in
   * its declared charset, or when a CSV header lacks a required column, naming it), records the
   * job and starts publishing its rows.
   */
  async receive(tenantId: string, body: ReadableStream<Uint8Array> | null, options: ReceiveOptions): Promise<Job> {
    const id = randomUUID();
    const file = this.fileOf(id);
    const discard = () => rm(path.dirname(file), { recursive: true, force: true });
    const received = await receiveFile(body, file, { ...options, Refusal: BulkError });
    const { bytes, format, encoding } = received;
    const delimiter = received.delimiter ?? ',';
    if (format === 'csv') {
      const header = new Set((await readHeader(file, delimiter, encoding)).map((h) => h.toLowerCase()));
      const missing = REQUIRED_COLUMNS.filter((c) => !header.has(c));
      if (missing.length > 0) {
        await discard();
        throw new BulkError(
          400,
          `the header has no column ${missing.join(', ')}; expected ${REQUIRED_COLUMNS.join(', ')} (and optionally price_level_index)`,
          missing[0],
        );
      }
    }
    await this.db.query(
      `INSERT INTO finance_jobs (id, tenant_id, filename, format, delimiter, encoding, bytes, state) VALUES ($1, $2, $3, $4, $5, $6, $7, 'publishing')`,
      [id, tenantId, options.filename ?? null, format, delimiter, encoding, bytes],
    );
    this.start(tenantId, id, { format, delimiter, encoding });
    return this.get(tenantId, id);
  }

  /** Publishes a job's rows in the background; the file is removed once every row is read. */
  private start(tenantId: string, id: string, shape: FileShape): void {
    const work = this.publish(tenantId, id, shape)
      .then(() => rm(path.dirname(this.fileOf(id)), { recursive: true, force: true }))
      .catch(async (error: Error) => {
        this.log.error({ job: id, err: error }, 'finance bulk job failed');
        await this.db
          .query("UPDATE finance_jobs SET state = 'failed', error = $2, updated_at = now() WHERE id = $1", [
            id,
            error.message,
          ])
          .catch((e: Error) => this.log.error({ job: id, err: e }, 'could not record the failure of a job'));
      })
      .finally(() => this.running.delete(id));
    this.running.set(id, work);
  }

  /**
   * A job still `publishing` whose progress has not moved for STALE_MS lost its process (a crash,
   * a restart): this process takes it over (one taker, by the conditional update) and reads the
   * file again from the start. Publishing again is harmless: rows it had claimed are sent again
   * under the same ids, rejections are recorded once.
   */
  private async resumeIfStale(tenantId: string, id: string): Promise<void> {
    if (this.running.has(id)) return;
    const { rows } = await this.db.query<FileShape>(
      `UPDATE finance_jobs SET updated_at = now() WHERE id = $1 AND tenant_id = $2 AND state = 'publishing' AND updated_at < now() - make_interval(secs => $3)
       RETURNING format, delimiter, encoding`,
      [id, tenantId, STALE_MS / 1000],
    );
    const job = rows[0];
    if (!job) return;
    this.log.warn({ job: id }, 'resuming a finance bulk job whose process stopped');
    this.start(tenantId, id, job);
  }

  /** The job with its counts; a job whose accepted rows are all scored becomes `completed` here. */
  async get(tenantId: string, id: string): Promise<Job> {
    await this.resumeIfStale(tenantId, id);
    const { rows } = await this.db.query<JobRow>(
      `SELECT j.id, j.state, j.filename, j.format, j.encoding, j.bytes, j.rows_read, j.total_rows, j.error, j.created_at, j.updated_at, j.completed_at,
              (SELECT count(*) FROM finance_statements s WHERE s.job_id = j.id) AS accepted,
              (SELECT count(*) FROM finance_statements s JOIN finance_scores f ON f.tenant_id = s.tenant_id AND f.id = s.id WHERE s.job_id = j.id) AS scored,
              (SELECT count(*) FROM finance_job_rejections r WHERE r.job_id = j.id) AS rejected
         FROM finance_jobs j WHERE j.id = $1 AND j.tenant_id = $2`,
      [id, tenantId],
    );
    const row = rows[0];
    if (!row) throw new BulkError(404, `no job "${id}"`, 'id');
    if (row.state === 'scoring' && Number(row.scored) >= Number(row.accepted)) {
      const { rows: done } = await this.db.query<{ updated_at: Date; completed_at: Date }>(
        "UPDATE finance_jobs SET state = 'completed', completed_at = now(), updated_at = now() WHERE id = $1 AND state = 'scoring' RETURNING updated_at, completed_at",
        [id],
      );
      row.state = 'completed';
      if (done[0]) Object.assign(row, done[0]);
    }
    return {
      id: row.id,
      type: 'finance_bulk',
      state: row.state,
      filename: row.filename,
      format: row.format,
      encoding: row.encoding,
      bytes: Number(row.bytes),
      rows_read: row.rows_read,
      total_rows: row.total_rows,
      accepted: Number(row.accepted),
      scored: Number(row.scored),
      rejected: Number(row.rejected),
      rejections: await this.rejectionsOf(id, 0, REJECTIONS_IN_JOB),
      error: row.error,
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
      completed_at: row.completed_at?.toISOString() ?? null,
    };
  }

  /**
   * Cancels a job still publishing: the batch being sent, if any, is the last; its file is removed
   * once the publisher stops. 409 once every row is read (scoring, completed) or the job ended.
   */
  async cancel(tenantId: string, id: string): Promise<Job> {
    const { rowCount } = await this.db.query(
      "UPDATE finance_jobs SET state = 'cancelled', updated_at = now() WHERE id = $1 AND tenant_id = $2 AND state = 'publishing'",
      [id, tenantId],
    );
    const job = await this.get(tenantId, id);
    if (!rowCount)
      throw new BulkError(
        409,
        `job "${id}" is ${job.state}: only a job still publishing its rows can be cancelled`,
        'id',
      );
    return job;
  }

  private async isCancelled(id: string): Promise<boolean> {
    const { rows } = await this.db.query<{ state: JobState }>('SELECT state FROM finance_jobs WHERE id = $1', [id]);
    return rows[0]?.state === 'cancelled';
  }

  /** Rejected rows in row order, after row number `afterRow`. */
  async rejections(tenantId: string, id: string, afterRow: number, limit: number): Promise<Rejection[]> {
    const { rowCount } = await this.db.query('SELECT 1 FROM finance_jobs WHERE id = $1 AND tenant_id = $2', [
      id,
      tenantId,
    ]);
    if (!rowCount) throw new BulkError(404, `no job "${id}"`, 'id');
    return this.rejectionsOf(id, afterRow, limit);
  }

  private async rejectionsOf(id: string, afterRow: number, limit: number): Promise<Rejection[]> {
    const { rows } = await this.db.query<Rejection>(
      'SELECT row_number, field, reason FROM finance_job_rejections WHERE job_id = $1 AND row_number > $2 ORDER BY row_number LIMIT $3',
      [id, afterRow, limit],
    );
    return rows;
  }

  private async publish(tenantId: string, id: string, { format, delimiter, encoding }: FileShape): Promise<void> {
    const topic = this.topic();
    let pending: { row: number; checked: CheckedStatement }[] = [];
    let refused: Rejection[] = [];
    let read = 0;
    const now = Date.now();

    const flush = async () => {
      // a statement twice in one batch: the first one counts, as it would across batches
      const seen = new Set<string>();
      const unique = pending.filter((p) => {
        if (seen.has(p.checked.value.id)) {
          refused.push(duplicate(p));
          return false;
        }
        seen.add(p.checked.value.id);
        return true;
      });
      let claimed = new Set<string>();
      if (unique.length > 0) {
        const v = unique.map((p) => p.checked.value);
        const { rows } = await this.db.query<{ id: string }>(
          `INSERT INTO finance_statements (id, tenant_id, company_id, period_end, kind, source, job_id, row_number)
           SELECT u.id, $1, u.company_id, u.period_end, u.kind, 'bulk', $2, u.row_number
             FROM unnest($3::text[], $4::text[], $5::date[], $6::text[], $7::int[]) AS u (id, company_id, period_end, kind, row_number)
           ON CONFLICT DO NOTHING RETURNING id`,
          [
            tenantId,
            id,
            v.map((s) => s.id),
            v.map((s) => s.company_id),
            unique.map((p) => p.checked.periodEnd),
            v.map((s) => s.period),
            unique.map((p) => p.row),
          ],
        );
        claimed = new Set(rows.map((r) => r.id));
        // claimed by this job for this very row on an earlier attempt (a resumed job): published again, same id
        const others = unique.filter((p) => !claimed.has(p.checked.value.id));
        if (others.length > 0) {
          const { rows: ours } = await this.db.query<{ id: string }>(
            'SELECT s.id FROM finance_statements s JOIN unnest($2::text[], $3::int[]) AS u (id, row_number) ON s.id = u.id AND s.row_number = u.row_number WHERE s.job_id = $1',
            [id, others.map((p) => p.checked.value.id), others.map((p) => p.row)],
          );
          for (const { id: mine } of ours) claimed.add(mine);
        }
      }
      const toPublish = unique.filter((p) => claimed.has(p.checked.value.id));
      for (const p of unique) if (!claimed.has(p.checked.value.id)) refused.push(duplicate(p));
      if (toPublish.length > 0) {
        let results;
        try {
          results = await this.publisher.ingest(
            topic,
            tenantId,
            toPublish.map((p) => p.checked.value),
          );
        } catch (error) {
          // not in Kafka: release the claims, so the statements can be submitted again
          await this.db.query('DELETE FROM finance_statements WHERE id = ANY($1::text[]) AND job_id = $2', [
            toPublish.map((p) => p.checked.value.id),
            id,
          ]);
          throw error;
        }
        const failed = results.flatMap((r) => ('error' in r ? [{ r, p: toPublish[r.index]! }] : []));
        if (failed.length > 0) {
          await this.db.query('DELETE FROM finance_statements WHERE id = ANY($1::text[]) AND job_id = $2', [
            failed.map((f) => f.p.checked.value.id),
            id,
          ]);
          for (const { r, p } of failed)
            if ('error' in r) refused.push({ row_number: p.row, field: r.field, reason: r.message });
        }
      }
      if (refused.length > 0) {
        await this.db.query(
          `INSERT INTO finance_job_rejections (job_id, row_number, field, reason)
           SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`,
          [id, refused.map((r) => r.row_number), refused.map((r) => r.field), refused.map((r) => r.reason)],
        );
      }
      await this.db.query('UPDATE finance_jobs SET rows_read = $2, updated_at = now() WHERE id = $1', [id, read]);
      pending = [];
      refused = [];
    };

    // asked before each batch is claimed and sent: a cancelled job's batch in flight is its last
    const stopped = () => this.log.info({ job: id, rows: read }, 'finance bulk job cancelled, publishing stopped');
    for await (const row of readRows(this.fileOf(id), format, delimiter, encoding)) {
      read += 1;
      if ('error' in row) refused.push({ row_number: row.row, field: null, reason: row.error });
      else {
        try {
          pending.push({ row: row.row, checked: checkRow(tenantId, lowerKeys(row.values), now) });
        } catch (error) {
          if (!(error instanceof StatementInputError)) throw error;
          refused.push({ row_number: row.row, field: error.field, reason: error.message });
        }
      }
      if (pending.length + refused.length >= BATCH) {
        if (await this.isCancelled(id)) return stopped();
        await flush();
      }
    }
    if (await this.isCancelled(id)) return stopped();
    await flush();
    await this.db.query(
      "UPDATE finance_jobs SET state = 'scoring', total_rows = $2, rows_read = $2, updated_at = now() WHERE id = $1 AND state = 'publishing'",
      [id, read],
    );
    this.log.info({ job: id, rows: read }, 'finance bulk job published');
  }
}

const lowerKeys = (values: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k.trim().toLowerCase(), v]));

const duplicate = ({ row, checked }: { row: number; checked: CheckedStatement }): Rejection => ({
  row_number: row,
  field: null,
  reason: `duplicate: the ${checked.value.period} statement of company ${JSON.stringify(checked.value.company_id)} for ${checked.periodEnd} was already submitted as ${checked.value.id}`,
});
