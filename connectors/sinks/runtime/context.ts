/** What every step of the sink runtime works with: the spec, the writer, the consumer and the sink's state. */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { BatchRetry } from '../../../core/batch-retry.ts';
import type { DeadLetter } from '../../../core/dlq.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Registry } from '../../../core/schema-registry.ts';
import type { MetricLabels, Replay } from '../../../core/runtime.ts';
import { SinkSpecError, type ResolvedSinkSpec } from './spec.ts';
import type { SinkWriter } from './writer.ts';

/** Where an assigned partition stands: the next offset to write, once read from the database. */
export interface Position {
  next: bigint;
  /** The consumer was sent to `next`: this batch is dropped, the next fetch starts there. */
  sought: boolean;
}

export interface SinkContext<T> {
  spec: ResolvedSinkSpec<T>;
  writer: SinkWriter;
  registry: Registry;
  consumer: Consumer;
  /** The Kafka cluster the offsets belong to. */
  clusterId: string;
  log: Logger;
  labels: MetricLabels;
  replay?: Replay;
  /** Aborted by stop(): ends any back-off. */
  signal: AbortSignal;
  /** Per assigned partition; cleared on every (re)join, when another member may have written any. */
  positions: Map<number, Position>;
  /** The dead-letter wrapper: logs, sends to the DLQ, counts. */
  toDlq(dead: readonly DeadLetter[]): Promise<void>;
  checkReplayDone(): void;
}

/** The retry wrapper's settings for one batch: the spec's back-off; a SinkSpecError is fatal. */
export function retryOf<T>(ctx: SinkContext<T>, payload: EachBatchPayload): BatchRetry {
  const { consumer, signal, log, labels } = ctx;
  const { initialMs: baseMs, maxMs: capMs } = ctx.spec.retry;
  return { consumer, payload, baseMs, capMs, signal, log, labels, isFatal: (error) => error instanceof SinkSpecError };
}
