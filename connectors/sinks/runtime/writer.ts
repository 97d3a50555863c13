/** What the sink runtime asks of a database: the contract both writers (Postgres, ClickHouse) keep. */
import type { DlqSource } from '../../../core/dlq.ts';
import type { Cell } from './spec.ts';

/** A decoded, mapped record: one row for the table, cells in the spec's column order. */
export interface PreparedRow {
  offset: bigint;
  cells: Cell[];
  source: DlqSource;
}

/**
 * One partition's slice of the log, [start, next): `rows` are what remains once dead records went
 * to the DLQ and, per key, only the latest record was kept (ascending offsets). `start` is where
 * the sink believed the database stood when the slice was cut.
 */
export interface PartitionBatch {
  /** The Kafka cluster the offsets belong to (a formatted-again local Kafka starts a new log). */
  clusterId: string;
  topic: string;
  partition: number;
  start: bigint;
  next: bigint;
  rows: PreparedRow[];
  /** A previous attempt failed in an unknown state (it may have landed): re-read the position first. */
  verify: boolean;
}

export interface WriteOutcome {
  /** The database's next offset for the partition once this returns; the sink continues from it. */
  durable: bigint;
  written: number;
  refused: number;
}

/** Called for a row the database refuses because of its data, before any later row is durable. */
export type RefusedRow = (row: PreparedRow, error: Error) => Promise<void>;

export interface SinkWriter {
  /**
   * true: the stored positions are the truth, and the sink seeks back to them if Kafka's committed
   * offset is ahead (Postgres). false: they are only a floor above Kafka's committed offset, used to
   * skip what already landed (ClickHouse, where dead records at a batch's end leave no row).
   */
  readonly authoritative: boolean;
  /**
   * How many partitions' batches write() may be given at once (kafkajs partitionsConsumedConcurrently);
   * 1 when absent. Each partition's batches still come one at a time, in order.
   */
  readonly concurrency?: number;
  /** Verifies the table fits the spec; SinkSpecError when it does not (fatal), anything else is retried. */
  check(): Promise<void>;
  /** The next offset stored per partition of `topic` in this cluster; a partition never written is absent. */
  positions(topic: string, partitions: readonly number[], clusterId: string): Promise<Map<number, bigint>>;
  /** Makes the batch durable exactly once; throws on anything but a refused row (the sink retries). */
  write(batch: PartitionBatch, refused: RefusedRow): Promise<WriteOutcome>;
  close(): Promise<void>;
}
