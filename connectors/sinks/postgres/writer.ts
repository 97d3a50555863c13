/**
 * The Postgres sink writer. One transaction per batch: lock the partition's row in sink_offsets,
 * drop rows below the stored position (another member or a previous attempt already wrote them),
 * multi-row upsert on the key, store the new position, commit. The row lock also fences two
 * members that both believe they own a partition during a rebalance: the second waits, then sees
 * the first one's position.
 *
 * A row the database refuses (SQLSTATE class 22 data exception or 23 integrity violation) is
 * isolated with savepoints and handed to the DLQ; the rest of its batch is still written.
 */
import type pg from 'pg';
import { createPostgresPool, inClientTransaction } from '../../../core/postgres.ts';
import { writeOrSplit } from '../runtime/retry.ts';
import { SinkSpecError, type Cell, type ResolvedSinkSpec } from '../runtime/spec.ts';
import type { PartitionBatch, RefusedRow, SinkWriter, WriteOutcome } from '../runtime/writer.ts';

/** Postgres allows 65,535 parameters in one statement. */
const MAX_PARAMETERS = 65_535;

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

const param = (cell: Cell): unknown => (typeof cell === 'bigint' ? cell.toString() : cell);

export class PostgresWriter<T> implements SinkWriter {
  readonly authoritative = true;
  private readonly pool: pg.Pool;
  private readonly upsertPrefix: string;
  private readonly upsertSuffix: string;
  private readonly rowsPerStatement: number;

  constructor(
    private readonly spec: ResolvedSinkSpec<T>,
    pool?: pg.Pool,
  ) {
    this.pool = pool ?? createPostgresPool(2);
    const columns = spec.columnNames.map(quoteIdent);
    const updates = spec.columnNames
      .filter((c) => !spec.key.includes(c))
      .map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`);
    this.upsertPrefix = `INSERT INTO ${quoteTable(spec.table)} (${columns.join(', ')}) VALUES `;
    this.upsertSuffix = ` ON CONFLICT (${spec.key.map(quoteIdent).join(', ')}) DO ${updates.length > 0 ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`;
    this.rowsPerStatement = Math.floor(MAX_PARAMETERS / columns.length);
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
    const client = await this.pool.connect();
    let broken = false;
    try {
      return await inClientTransaction(client, (tx) => this.writeIn(tx, batch, refused));
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      // a connection that failed mid-transaction is not trusted again
      client.release(broken);
    }
  }

  /** The batch's transaction: its position, the upsert (refused rows isolated with savepoints), the new position. */
  private async writeIn(client: pg.PoolClient, batch: PartitionBatch, refused: RefusedRow): Promise<WriteOutcome> {
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
    const rows = batch.rows.filter((r) => r.offset >= stored);
    let written = 0;
    let refusedCount = 0;
    for (let i = 0; i < rows.length; i += this.rowsPerStatement) {
      await writeOrSplit(
        rows.slice(i, i + this.rowsPerStatement),
        async (part) => {
          await client.query('SAVEPOINT upsert');
          try {
            await client.query(
              this.statement(part.length),
              part.flatMap((r) => r.cells.map(param)),
            );
            await client.query('RELEASE SAVEPOINT upsert');
            written += part.length;
          } catch (error) {
            await client.query('ROLLBACK TO SAVEPOINT upsert');
            throw error;
          }
        },
        async (row, error) => {
          refusedCount++;
          await refused(row, refusal(error));
        },
        isDataError,
      );
    }
    await client.query(
      'UPDATE sink_offsets SET next_offset = $4, cluster_id = $5, updated_at = now() WHERE sink = $1 AND topic = $2 AND partition = $3',
      [this.spec.name, batch.topic, batch.partition, batch.next.toString(), batch.clusterId],
    );
    return { durable: batch.next, written, refused: refusedCount };
  }

  private statement(rows: number): string {
    const width = this.spec.columnNames.length;
    const tuples = Array.from(
      { length: rows },
      (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`,
    );
    return this.upsertPrefix + tuples.join(', ') + this.upsertSuffix;
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
