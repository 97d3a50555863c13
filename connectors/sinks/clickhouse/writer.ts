/**
 * The ClickHouse sink writer; the design (why no row is lost or duplicated) is in README.md here.
 * Rows carry `_topic`, `_partition`, `_offset`. An insert may land in part (a table partitioned by
 * month takes one batch as a part per month), so the table keeps no position: a sink starts from
 * Kafka's committed offset (committed only once an insert returned), and a row below the table's
 * max(_offset) + 1 (a restart after a partial insert, a retry, a replay) is written only if its
 * offset is not stored. No read needs FINAL to count each record of the log once.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '../../../core/clickhouse.ts';
import { loadConfig } from '../../../core/config.ts';
import { quoteString } from '../../../core/clickhouse-sql.ts';
import { writeOrSplit } from '../runtime/retry.ts';
import { CLICKHOUSE_LINEAGE_COLUMNS, SinkSpecError, type ResolvedSinkSpec } from '../runtime/spec.ts';
import type { PartitionBatch, PreparedRow, RefusedRow, SinkWriter, WriteOutcome } from '../runtime/writer.ts';
import { cellCheck, type CellCheck } from './column-types.ts';
import { CombinedInserts } from './combined-inserts.ts';
import { ClickHouseReplicas } from './replicas.ts';
import { tsvEncoder, tsvString, type CellEncoder } from './tsv.ts';

/** Error codes of input the server could not take (parse, type, range): the row's fault, not the server's. */
const DATA_ERROR_CODES = new Set([6, 26, 27, 32, 38, 41, 53, 69, 70, 72, 117, 349]);

const codeOf = (error: unknown): number | undefined => {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  const match = /Code: (\d+)/.exec((error as Error).message ?? '');
  return match ? Number(match[1]) : undefined;
};

export const isDataError = (error: unknown): boolean => DATA_ERROR_CODES.has(codeOf(error) ?? -1);

/** ClickHouse names the failing row of an insert ("(at row 3)", 1-based). */
const failingRow = (error: Error): number | undefined => {
  const match = /\(at row (\d+)\)/.exec(error.message);
  return match ? Number(match[1]) - 1 : undefined;
};

function refusal(message: string): Error {
  const refused = new Error(message.replace(/, e\.what\(\) = DB::Exception\s*$/, '').trim());
  refused.name = 'RowRefusedError';
  return refused;
}

/** A row ready to insert: its TabSeparated line (no newline). */
interface EncodedRow {
  row: PreparedRow;
  line: string;
}

export class ClickHouseWriter<T> implements SinkWriter {
  readonly authoritative = false;
  private readonly replicas: ClickHouseReplicas;
  /** the table is replicated: what it holds is read from a replica that caught up (replicas.ts) */
  private replicated = false;
  /** the replica the high water was last read from, after it caught up */
  private synced: ClickHouseClient | undefined;
  private types = new Map<string, string>();
  /** Per spec column, in order: the range/null check the server skips, and the TabSeparated encoder. */
  private checks: CellCheck[] = [];
  private encoders: CellEncoder[] = [];
  private readonly columns: readonly string[];
  private readonly inserts: CombinedInserts;
  /** The runtime may hand write() every partition's batch at once: their inserts are combined. */
  readonly concurrency = 16;
  /**
   * Per `topic/partition`: max(_offset) + 1 when the table was last asked. A row below it may be
   * stored already (a replay, a retry after an unknown outcome) and is checked by its offset.
   */
  private readonly highWater = new Map<string, bigint>();

  constructor(
    private readonly spec: ResolvedSinkSpec<T>,
    client?: ClickHouseClient | ClickHouseReplicas,
  ) {
    this.replicas =
      client instanceof ClickHouseReplicas
        ? client
        : new ClickHouseReplicas(client ? [client] : replicaClients(spec.consumer.sessionTimeoutMs));
    this.columns = [...CLICKHOUSE_LINEAGE_COLUMNS, ...spec.columnNames];
    this.inserts = new CombinedInserts(async (texts) => {
      await this.replicas.client
        .insert({
          table: this.spec.table,
          values: Readable.from(texts, { objectMode: false }),
          format: 'TabSeparated',
          columns: this.columns as [string, ...string[]],
        })
        .catch((error: unknown) => {
          this.replicas.failed(error);
          throw error;
        });
    }, isDataError);
  }

  async check(): Promise<void> {
    const where = `sink ${this.spec.name}: ClickHouse table ${this.spec.table}`;
    const [table] = await this.rows<{ engine: string; partition_key: string; sorting_key: string }>(
      `SELECT engine, partition_key, sorting_key FROM system.tables WHERE database = currentDatabase() AND name = ${quoteString(this.spec.table)}`,
    );
    if (!table) throw new SinkSpecError(`${where} does not exist`);
    if (!/^(Replicated)?ReplacingMergeTree$/.test(table.engine))
      throw new SinkSpecError(
        `${where} must be a ReplacingMergeTree or ReplicatedReplacingMergeTree (it is ${table.engine})`,
      );
    this.replicated = table.engine.startsWith('Replicated');
    const sortingKey = table.sorting_key.split(',').map((k) => k.trim());
    const outside = this.spec.key.filter((column) => !sortingKey.includes(column));
    if (outside.length > 0)
      throw new SinkSpecError(
        `${where}: ORDER BY (${table.sorting_key}) must include the key column ${outside.join(', ')}`,
      );
    const columns = await this.rows<{ name: string; type: string }>(
      `SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = ${quoteString(this.spec.table)}`,
    );
    this.types = new Map(columns.map((c) => [c.name, c.type]));
    const missing = [...this.spec.columnNames, ...CLICKHOUSE_LINEAGE_COLUMNS].filter((c) => !this.types.has(c));
    if (missing.length > 0) throw new SinkSpecError(`${where} has no column ${missing.join(', ')}`);
    this.checks = this.spec.columnNames.map((c) => cellCheck(c, this.types.get(c)!));
    this.encoders = this.spec.columnNames.map((c) => tsvEncoder(this.types.get(c)!));
  }

  /**
   * No floor above Kafka's committed offset (max(_offset) + 1 is not one: rows below it may be missing
   * after a partial insert); reads the high water that decides which rows are checked, as the
   * partition was just assigned and another member may have written since.
   */
  async positions(topic: string, partitions: readonly number[]): Promise<Map<number, bigint>> {
    await this.readHighWater(topic, partitions);
    return new Map();
  }

  /** ClickHouse data lives beside the Kafka it was written from (one MILLRACE_HOME), so the cluster is implied. */
  private async readHighWater(topic: string, partitions: readonly number[]): Promise<void> {
    if (partitions.length === 0) return;
    if (this.replicated) this.synced = await this.replicas.caughtUp(this.spec.table);
    const found = await this.rows<{ partition: number; next: string }>(
      `SELECT _partition AS partition, toString(max(_offset) + 1) AS next FROM ${this.spec.table}
        WHERE _topic = ${quoteString(topic)} AND _partition IN (${partitions.map(Number).join(', ')}) GROUP BY _partition`,
    );
    const next = new Map(found.map((r) => [Number(r.partition), BigInt(r.next)]));
    for (const partition of partitions) this.highWater.set(`${topic}/${partition}`, next.get(partition) ?? 0n);
  }

  async write(batch: PartitionBatch, refused: RefusedRow): Promise<WriteOutcome> {
    // the previous attempt may have landed, whole or in part, before its connection broke: the table knows
    if (batch.verify || !this.highWater.has(`${batch.topic}/${batch.partition}`))
      await this.readHighWater(batch.topic, [batch.partition]);
    const rows = await this.unstored(batch);
    let written = 0;
    let refusedCount = 0;
    const refuse = async (row: PreparedRow, error: Error) => {
      refusedCount++;
      await refused(row, error);
    };
    // ClickHouse 18.16 silently wraps integers that overflow their column and reads null as 0: refuse those here
    const fitting: EncodedRow[] = [];
    const lineage = `${tsvString(batch.topic)}\t${batch.partition}\t`;
    for (const row of rows) {
      const line = this.encode(lineage, row);
      if (typeof line === 'string') fitting.push({ row, line });
      else await refuse(row, line);
    }
    await writeOrSplit(
      fitting,
      async (part) => {
        const lines = part.map(({ line }) => line);
        lines.push(''); // every line ends with a newline
        await this.inserts.write(lines.join('\n'), part.length);
        written += part.length;
      },
      ({ row }, error) => refuse(row, refusal(error.message)),
      isDataError,
      failingRow,
    );
    return { durable: batch.next, written, refused: refusedCount };
  }

  /** The batch's rows whose offsets the table does not hold: a replay or a retry stores no row twice. */
  private async unstored(batch: PartitionBatch): Promise<PreparedRow[]> {
    const below = this.highWater.get(`${batch.topic}/${batch.partition}`)!;
    const first = batch.rows[0];
    if (!first || first.offset >= below) return batch.rows;
    const last = batch.rows.at(-1)!.offset;
    if (this.replicated && this.synced !== this.replicas.client)
      this.synced = await this.replicas.caughtUp(this.spec.table);
    const stored = await this.rows<{ offset: string }>(
      `SELECT toString(_offset) AS offset FROM ${this.spec.table}
        WHERE _topic = ${quoteString(batch.topic)} AND _partition = ${Number(batch.partition)}
          AND _offset >= ${first.offset} AND _offset < ${last < below ? last + 1n : below}`,
    );
    const held = new Set(stored.map((r) => BigInt(r.offset)));
    return batch.rows.filter((r) => !held.has(r.offset));
  }

  /** The row's TabSeparated line, or why a cell does not fit its column. */
  private encode(lineage: string, row: PreparedRow): string | Error {
    const { cells } = row;
    const fields: string[] = [`${lineage}${row.offset}`];
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i]!;
      const misfit = this.checks[i]!(cell);
      if (misfit) return refusal(misfit);
      fields.push(this.encoders[i]!(cell));
    }
    return fields.join('\t'); // one flat string, not a chain of concatenations to flatten later
  }

  private async rows<R>(query: string): Promise<R[]> {
    try {
      return await (await this.replicas.client.query({ query, format: 'JSONEachRow' })).json<R>();
    } catch (error) {
      this.replicas.failed(error);
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.replicas.close();
  }
}

/**
 * A client per replica of CLICKHOUSE_REPLICAS (CLICKHOUSE_URL's first when it is one); CLICKHOUSE_URL
 * alone without them. A silent request is reset after
 * two thirds of the consumer's session timeout (20 s of the default 30 s; a replica's SYSTEM SYNC
 * REPLICA answers within 15 s): a member cut off mid-insert has dropped what it had not sent
 * before the group can give its partition to another member.
 */
function replicaClients(sessionTimeoutMs: number): ClickHouseClient[] {
  const { CLICKHOUSE_URL: url, CLICKHOUSE_REPLICAS: replicas } = loadConfig();
  const ordered =
    replicas.length > 0 ? [...replicas.filter((r) => r === url), ...replicas.filter((r) => r !== url)] : [url];
  const resetAfterMs = Math.round((sessionTimeoutMs * 2) / 3);
  return ordered.map((u) => createClickHouse(undefined, u, { resetAfterMs }));
}
