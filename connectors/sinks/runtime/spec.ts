/**
 * A sink as data: one topic into one table of Postgres or ClickHouse, a column map from the decoded
 * record (and where it came from) to cells, and how to batch. `defineSink` only types it; `checkSpec`
 * refuses a spec that cannot work before anything connects.
 */
import type { IHeaders } from 'kafkajs';
import { errorKind } from '../../../core/errors.ts';

/** Where a record came from, for lineage columns (`source_offset: (_, m) => m.offset`). */
export interface RecordMeta {
  topic: string;
  partition: number;
  /** Kafka offset as a decimal string (64-bit). */
  offset: string;
  key: string | null;
  /** Kafka timestamp, epoch milliseconds as a string. */
  timestamp: string;
  headers: IHeaders;
  schemaId: number;
}

/**
 * What a column function may return. Postgres gets it as a query parameter (Date: timestamptz,
 * bigint: numeric text). ClickHouse gets it as TabSeparated text (clickhouse/tsv.ts): Date becomes
 * epoch seconds (a DateTime; with milliseconds into DateTime64, the UTC day into Date), bigint its
 * digits (UInt64/Int64), a number into a Float64 column text it reads to the same bits
 * (clickhouse/float-text.ts), null \N; for milliseconds map to a number into an Int64 column.
 */
export type Cell = string | number | bigint | boolean | Date | null | readonly (string | number | boolean | null)[];

export type ColumnMap<T> = Readonly<Record<string, (value: T, meta: RecordMeta) => Cell | undefined>>;

export interface SinkSpec<T = Record<string, unknown>> {
  /** `[a-z][a-z0-9_-]*`: consumer group `millrace.sink.<name>`, DLQ stage `sink.<name>`, metrics label. */
  name: string;
  /** What the rows are for (who reads the table), for `millrace help <sink>` and docs/components.md; the runtime ignores it. */
  description?: string;
  topic: string;
  target: 'postgres' | 'clickhouse';
  /** A plain identifier (Postgres also `schema.table`); the table must exist (see the target's README). */
  table: string;
  /**
   * The record's identity: one or more of `columns`, usually `['tenant_id', 'id']` (the same id under
   * two tenants is two rows). Postgres: the upsert's conflict target (needs a unique index on exactly
   * these columns). ClickHouse: each must be in the ReplacingMergeTree's ORDER BY.
   */
  key: readonly string[];
  columns: ColumnMap<T>;
  /**
   * A write holds at most maxRows records. A fetch returns as soon as records are there, so a
   * caught-up topic is written at once (what arrives during a write is the next batch) and a
   * lagging one in full batches; on an idle topic the broker holds a fetch up to maxMs.
   */
  batch?: { maxRows?: number; maxMs?: number };
  /**
   * Back-off between write attempts while the database is unreachable: initialMs doubling up to maxMs
   * (default 30 s; 5 s into ClickHouse, where a refused insert costs the server nothing and a
   * replicated table read-only after a ZooKeeper restart takes inserts again within seconds).
   */
  retry?: { initialMs?: number; maxMs?: number };
  /** Consumer tuning; a short session lets a killed sink's partitions move sooner (broker minimum 6 s). */
  consumer?: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number };
}

export interface ResolvedSinkSpec<T = Record<string, unknown>> extends SinkSpec<T> {
  groupId: string;
  stage: string;
  columnNames: readonly string[];
  batch: { maxRows: number; maxMs: number };
  retry: { initialMs: number; maxMs: number };
  consumer: { sessionTimeoutMs: number; heartbeatIntervalMs: number };
}

export class SinkSpecError extends errorKind('SinkSpecError', { code: 'sink_spec' }) {}

/** Identity, for type inference of the record type in column functions. */
export function defineSink<T>(spec: SinkSpec<T>): SinkSpec<T> {
  return spec;
}

const NAME = /^[a-z][a-z0-9_-]*$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Columns the ClickHouse sink writes itself: where each row came from (see clickhouse/README.md). */
export const CLICKHOUSE_LINEAGE_COLUMNS = ['_topic', '_partition', '_offset'] as const;

function positive(value: number | undefined, fallback: number, what: string, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new SinkSpecError(`${what} must be an integer >= ${min}, got ${value}`);
  return v;
}

export function checkSpec<T>(spec: SinkSpec<T>): ResolvedSinkSpec<T> {
  const where = `sink ${JSON.stringify(spec.name)}`;
  if (typeof spec.name !== 'string' || !NAME.test(spec.name))
    throw new SinkSpecError(`${where}: name must match ${NAME}`);
  if (typeof spec.topic !== 'string' || spec.topic.length === 0) throw new SinkSpecError(`${where}: topic is required`);
  if (spec.target !== 'postgres' && spec.target !== 'clickhouse') {
    throw new SinkSpecError(`${where}: target must be 'postgres' or 'clickhouse', got ${JSON.stringify(spec.target)}`);
  }
  const tableParts = typeof spec.table === 'string' ? spec.table.split('.') : [];
  const tableOk =
    spec.target === 'postgres' ? tableParts.length >= 1 && tableParts.length <= 2 : tableParts.length === 1;
  if (!tableOk || !tableParts.every((p) => IDENTIFIER.test(p))) {
    throw new SinkSpecError(
      `${where}: table must be a plain identifier${spec.target === 'postgres' ? ' or schema.table' : ''}, got ${JSON.stringify(spec.table)}`,
    );
  }
  const columnNames = Object.keys(spec.columns ?? {});
  if (columnNames.length === 0) throw new SinkSpecError(`${where}: columns must map at least one column`);
  for (const column of columnNames) {
    if (!IDENTIFIER.test(column))
      throw new SinkSpecError(`${where}: column ${JSON.stringify(column)} is not a plain identifier`);
    if (typeof spec.columns[column] !== 'function')
      throw new SinkSpecError(`${where}: column ${column} must be a function (value, meta) => cell`);
    if (spec.target === 'clickhouse' && (CLICKHOUSE_LINEAGE_COLUMNS as readonly string[]).includes(column)) {
      throw new SinkSpecError(`${where}: column ${column} is written by the sink itself`);
    }
  }
  if (!Array.isArray(spec.key) || spec.key.length === 0)
    throw new SinkSpecError(`${where}: key must name at least one column`);
  for (const column of spec.key) {
    if (!columnNames.includes(column))
      throw new SinkSpecError(`${where}: key column ${JSON.stringify(column)} must be one of the columns`);
  }
  const sessionTimeoutMs = positive(
    spec.consumer?.sessionTimeoutMs,
    30_000,
    `${where}: consumer.sessionTimeoutMs`,
    6_000,
  );
  const heartbeatIntervalMs = positive(
    spec.consumer?.heartbeatIntervalMs,
    Math.floor(sessionTimeoutMs / 10),
    `${where}: consumer.heartbeatIntervalMs`,
    100,
  );
  if (heartbeatIntervalMs >= sessionTimeoutMs)
    throw new SinkSpecError(`${where}: consumer.heartbeatIntervalMs must be below sessionTimeoutMs`);
  const retryInitial = positive(spec.retry?.initialMs, 200, `${where}: retry.initialMs`);
  return {
    ...spec,
    groupId: `millrace.sink.${spec.name}`,
    stage: `sink.${spec.name}`,
    columnNames,
    batch: {
      maxRows: positive(spec.batch?.maxRows, 5_000, `${where}: batch.maxRows`),
      maxMs: positive(spec.batch?.maxMs, 1_000, `${where}: batch.maxMs`),
    },
    retry: {
      initialMs: retryInitial,
      maxMs: positive(
        spec.retry?.maxMs,
        spec.target === 'clickhouse' ? 5_000 : 30_000,
        `${where}: retry.maxMs`,
        retryInitial,
      ),
    },
    consumer: { sessionTimeoutMs, heartbeatIntervalMs },
  };
}
