/**
 * The Postgres sink writer. One transaction per batch: lock the partition's row in sink_offsets,
 * drop rows below the stored position (another member or a previous attempt already wrote them),
 * write the rows, store the new position, commit. The row lock also fences two members that both
 * believe they own a partition during a rebalance: the second waits, then sees the first one's
 * position.
 *
 * The rows go in with COPY (text format, copy-text.ts), sorted by key: straight into the target
 * while their keys are new, as a stream's mostly are; once a key is already there, through a
 * staging table (a temporary table of the connection, `ON COMMIT DELETE ROWS`, with the target's
 * column types) and one `INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE`. Either way the rows and
 * the position commit together, so a crash anywhere before the commit leaves neither.
 *
 * A row the database refuses (SQLSTATE class 22 data exception or 23 integrity violation, in the
 * COPY or the upsert) is isolated with savepoints (COPY names its line) and handed to the DLQ; the
 * rest of its batch is still written. A cell Postgres cannot hold at all (a NUL byte in text) is
 * refused before COPY, with the words Postgres uses for it.
 */
import { createHash } from 'node:crypto';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createPostgresPool, inClientTransaction } from '../../../core/postgres.ts';
import { writeOrSplit } from '../runtime/retry.ts';
import { SinkSpecError, type ResolvedSinkSpec } from '../runtime/spec.ts';
import type { PartitionBatch, PreparedRow, RefusedRow, SinkWriter, WriteOutcome } from '../runtime/writer.ts';
import { copyLine, UnstorableCellError } from './copy-text.ts';

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const quoteTable = (table: string): string => table.split('.').map(quoteIdent).join('.');

export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** A refused row's error carries the database's own words and SQLSTATE. */
function refusal(error: unknown): Error {
  const e = error as pg.DatabaseError;
  const refused = new Error(`${e.message}${e.detail ? ` (${e.detail})` : ''} [SQLSTATE ${e.code}]`);
  refused.name = 'RowRefusedError';
  return refused;
}

/** COPY names the line it stopped at ("COPY stage, line 3, column delay: ..."): that row is the culprit. */
function copyLineOf(error: Error, rows: readonly unknown[]): number | undefined {
  const line = /^COPY [^,]+, line (\d+)/.exec((error as pg.DatabaseError).where ?? '')?.[1];
  return line === undefined || Number(line) > rows.length ? undefined : Number(line) - 1;
}

/** A row with its COPY line. */
interface Encoded {
  row: PreparedRow;
  line: string;
  /** The key's cells as one string, to sort by. */
  key: string;
}

const UNIQUE_VIOLATION = '23505';
const UPSERTS_AFTER_A_CONFLICT = 16;

/** Connections (pool clients are reused) that hold a staging table, by its name. */
const staged = new WeakMap<pg.ClientBase, Set<string>>();

export class PostgresWriter<T> implements SinkWriter {
  readonly authoritative = true;
  /** Two partitions' batches at once (the pool's two connections): one is encoded while the other's SQL runs. */
  readonly concurrency = 2;
  private readonly pool: pg.Pool;
  /** pg_temp.<name>: one per target table and column list, so writers sharing a pool never meet. */
  private readonly stage: string;
  private readonly createStage: string;
  private readonly copyToStage: string;
  private readonly copyToTarget: string;
  private readonly upsert: string;
  private readonly keyIndexes: readonly number[];
  /** Batches left that go straight to the staging table and the upsert, since a recent COPY into the target met existing keys. */
  private upsertsAhead = 0;

  constructor(
    private readonly spec: ResolvedSinkSpec<T>,
    pool?: pg.Pool,
  ) {
    this.pool = pool ?? createPostgresPool(2);
    this.keyIndexes = spec.key.map((column) => spec.columnNames.indexOf(column));
    const columns = spec.columnNames.map(quoteIdent).join(', ');
    const target = quoteTable(spec.table);
    const digest = createHash('sha256').update(`${spec.table}\0${columns}`).digest('hex').slice(0, 16);
    this.stage = `millrace_stage_${digest}`;
    this.createStage = `CREATE TEMPORARY TABLE IF NOT EXISTS ${this.stage} ON COMMIT DELETE ROWS AS SELECT ${columns} FROM ${target} WITH NO DATA`;
    this.copyToStage = `COPY pg_temp.${this.stage} (${columns}) FROM STDIN`;
    this.copyToTarget = `COPY ${target} (${columns}) FROM STDIN`;
    const updates = spec.columnNames
      .filter((c) => !spec.key.includes(c))
      .map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`);
    this.upsert =
      `INSERT INTO ${target} (${columns}) SELECT ${columns} FROM pg_temp.${this.stage}` +
      ` ON CONFLICT (${spec.key.map(quoteIdent).join(', ')}) DO ${updates.length > 0 ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`;
  }

  async check(): Promise<void> {
    const [schema, table] = this.spec.table.includes('.') ? this.spec.table.split('.') : [null, this.spec.table];
    const { rows } = await this.pool.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns
        WHERE table_name = $1 AND table_schema = COALESCE($2, current_schema())`,
      [table, schema],
    );
    if (rows.length === 0)
      throw new SinkSpecError(`sink ${this.spec.name}: Postgres table ${this.spec.table} does not exist`);
    const present = new Set(rows.map((r) => r.column_name));
    const missing = this.spec.columnNames.filter((c) => !present.has(c));
    if (missing.length > 0)
      throw new SinkSpecError(`sink ${this.spec.name}: table ${this.spec.table} has no column ${missing.join(', ')}`);
    // ON CONFLICT needs a unique index on exactly the key's columns (not partial)
    const { rows: unique } = await this.pool.query<{ columns: string[] }>(
      `SELECT array(SELECT a.attname::text FROM unnest(i.indkey) k JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k) AS columns
         FROM pg_index i WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indpred IS NULL`,
      [quoteTable(this.spec.table)],
    );
    const key = [...this.spec.key].sort().join(',');
    if (!unique.some((index) => [...index.columns].sort().join(',') === key))
      throw new SinkSpecError(
        `sink ${this.spec.name}: ${this.spec.table} needs a unique index on (${this.spec.key.join(', ')}) (the upsert's conflict target)`,
      );
  }

  async positions(topic: string, partitions: readonly number[], clusterId: string): Promise<Map<number, bigint>> {
    const { rows } = await this.pool.query<{ partition: number; next_offset: string }>(
      'SELECT partition, next_offset FROM sink_offsets WHERE sink = $1 AND topic = $2 AND partition = ANY($3::int[]) AND cluster_id = $4',
      [this.spec.name, topic, partitions, clusterId],
    );
    return new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
  }

  async write(batch: PartitionBatch, refused: RefusedRow): Promise<WriteOutcome> {
    // encoded before the partition's row is locked: the lock is held for SQL only
    const lines = batch.rows.map(lineOf);
    const client = await this.pool.connect();
    let broken = false;
    try {
      if (!staged.get(client)?.has(this.stage)) {
        // outside the batch's transaction: committed at once, it lives as long as the connection
        await client.query(this.createStage);
        staged.set(client, (staged.get(client) ?? new Set()).add(this.stage));
      }
      return await inClientTransaction(client, (tx) => this.writeIn(tx, batch, lines, refused));
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      // a connection that failed mid-transaction is not trusted again
      client.release(broken);
    }
  }

  /** The batch's transaction: its position, the rows through the staging table (refused rows isolated with savepoints), the new position. */
  private async writeIn(
    client: pg.PoolClient,
    batch: PartitionBatch,
    encoded: readonly (string | UnstorableCellError)[],
    refused: RefusedRow,
  ): Promise<WriteOutcome> {
    await client.query(
      `INSERT INTO sink_offsets (sink, topic, partition, next_offset) VALUES ($1, $2, $3, 0)
       ON CONFLICT (sink, topic, partition) DO NOTHING`,
      [this.spec.name, batch.topic, batch.partition],
    );
    const { rows: locked } = await client.query<{ next_offset: string; cluster_id: string | null }>(
      'SELECT next_offset, cluster_id FROM sink_offsets WHERE sink = $1 AND topic = $2 AND partition = $3 FOR UPDATE',
      [this.spec.name, batch.topic, batch.partition],
    );
    // offsets of another cluster's log say nothing about this one
    const stored = locked[0]!.cluster_id === batch.clusterId ? BigInt(locked[0]!.next_offset) : 0n;
    // nothing to write (the row was there already, so the transaction changed nothing and commits as such)
    if (stored >= batch.next) return { durable: stored, written: 0, refused: 0 };
    let written = 0;
    let refusedCount = 0;
    const refuse = async (row: PreparedRow, error: unknown) => {
      refusedCount++;
      await refused(row, refusal(error));
    };
    const lines: Encoded[] = [];
    for (const [i, row] of batch.rows.entries()) {
      if (row.offset < stored) continue;
      // a cell no column can hold is refused now: all rows become durable together at commit anyway
      const line = encoded[i]!;
      if (line instanceof UnstorableCellError) await refuse(row, line);
      else lines.push({ row, line, key: this.keyIndexes.map((k) => String(row.cells[k])).join('\0') });
    }
    // in key order, the index takes the rows page after page instead of at random (a fifth less COPY time measured)
    lines.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    let dirty = false; // the staging table holds a part already upserted in this transaction
    await writeOrSplit(
      lines,
      async (part) => {
        await client.query('SAVEPOINT upsert');
        try {
          if (dirty) await client.query(`TRUNCATE pg_temp.${this.stage}`);
          await this.copyAndUpsert(client, part);
          await client.query('RELEASE SAVEPOINT upsert');
          dirty = true;
          written += part.length;
        } catch (error) {
          await client.query('ROLLBACK TO SAVEPOINT upsert');
          throw error;
        }
      },
      (item, error) => refuse(item.row, error),
      isDataError,
      copyLineOf,
    );
    await client.query(
      'UPDATE sink_offsets SET next_offset = $4, cluster_id = $5, updated_at = now() WHERE sink = $1 AND topic = $2 AND partition = $3',
      [this.spec.name, batch.topic, batch.partition, batch.next.toString(), batch.clusterId],
    );
    return { durable: batch.next, written, refused: refusedCount };
  }

  /**
   * The part's rows into the target. First straight in with COPY, as `\copy` would (a stream's keys
   * are mostly new); when that meets a key already there (or being inserted by another partition's
   * transaction), it is rolled back and the rows go through the staging table and the upsert, and
   * so do the next batches for a while (a table of updates, a replay).
   */
  private async copyAndUpsert(client: pg.PoolClient, part: readonly Encoded[]): Promise<void> {
    const text = part.map((item) => item.line).join('');
    if (this.upsertsAhead === 0) {
      await client.query('SAVEPOINT direct');
      try {
        await copy(client, this.copyToTarget, text);
        return;
      } catch (error) {
        if ((error as pg.DatabaseError).code !== UNIQUE_VIOLATION) throw error;
        await client.query('ROLLBACK TO SAVEPOINT direct');
        this.upsertsAhead = UPSERTS_AFTER_A_CONFLICT;
      }
    } else this.upsertsAhead--;
    await copy(client, this.copyToStage, text);
    await client.query(this.upsert);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** COPY ... FROM STDIN of `text` (COPY text format lines). */
async function copy(client: pg.PoolClient, sql: string, text: string): Promise<void> {
  const stream = client.query(copyFrom(sql));
  stream.end(text);
  await finished(stream);
}

/** The row's COPY line, or why it cannot have one. */
function lineOf(row: PreparedRow): string | UnstorableCellError {
  try {
    return copyLine(row.cells);
  } catch (error) {
    if (error instanceof UnstorableCellError) return error;
    throw error;
  }
}
