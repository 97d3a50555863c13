/**
 * The retry wrapper for a downstream outage: the batch in hand is tried again with core/backoff
 * until it succeeds, while its partition is paused (nothing more is fetched for it) and the member
 * keeps heartbeating (the group keeps the partition here). A stop or a rebalance drops the batch,
 * uncommitted, so whoever consumes the partition next fetches it again.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { AbortedError, backoff, sleep, type Jitter } from './backoff.ts';
import type { Logger } from './logger.ts';
import { metrics } from './metrics.ts';
import type { MetricLabels } from './runtime.ts';

const HEARTBEAT_EVERY_MS = 1_000;

export interface BatchRetry {
  consumer: Pick<Consumer, 'pause' | 'resume'>;
  payload: Pick<EachBatchPayload, 'batch' | 'heartbeat' | 'isRunning' | 'isStale'>;
  /** The first retry waits about baseMs, each further one twice as long, up to capMs. */
  baseMs: number;
  capMs: number;
  jitter?: Jitter;
  /** Aborted when the runtime stops: the wait ends at once and the batch is dropped. */
  signal: AbortSignal;
  log: Logger;
  labels: MetricLabels;
  /** An error no retry can fix: thrown at once. */
  isFatal?: (error: unknown) => boolean;
}

/**
 * Runs `attempt` (told whether it is a retry) until it succeeds and returns its result, or
 * undefined when the batch must be dropped (stopping, or the partition moved to another member).
 *
 * @example
 * ```ts
 * const written = await retryBatch({ consumer, payload, baseMs: 200, capMs: 30_000, signal, log, labels }, 'write', (retry) =>
 *   writer.write({ ...slice, verify: retry }),
 * );
 * if (written === undefined) return; // dropped: fetched again later
 * ```
 */
export async function retryBatch<R>(
  retry: BatchRetry,
  what: string,
  attempt: (retrying: boolean) => Promise<R>,
): Promise<R | undefined> {
  const { consumer, payload, log } = retry;
  const { topic, partition } = payload.batch;
  for (let n = 0; ; n++) {
    try {
      const result = await attempt(n > 0);
      if (n > 0) {
        consumer.resume([{ topic, partitions: [partition] }]);
        log.info({ partition, attempts: n + 1 }, `${what} succeeded, partition resumed`);
      }
      return result;
    } catch (error) {
      if (retry.isFatal?.(error)) throw error;
      const delayMs = backoff({
        attempt: n + 1,
        baseMs: retry.baseMs,
        capMs: retry.capMs,
        jitter: retry.jitter ?? 'equal',
      });
      if (n === 0) consumer.pause([{ topic, partitions: [partition] }]);
      log.warn({ partition, attempt: n + 1, delayMs, err: error }, `${what} failed, partition paused, retrying`);
      metrics.retries.inc(retry.labels);
      if (!(await waitHeartbeating(retry, delayMs))) return undefined;
    }
  }
}

/** Waits `delayMs`, heartbeating every second; false when the batch must be dropped. */
async function waitHeartbeating({ consumer, payload, signal }: BatchRetry, delayMs: number): Promise<boolean> {
  const { topic, partition } = payload.batch;
  try {
    for (let waited = 0; waited < delayMs; waited += HEARTBEAT_EVERY_MS) {
      await sleep(Math.min(HEARTBEAT_EVERY_MS, delayMs - waited), signal);
      await payload.heartbeat(); // throws when the group rebalances: the batch is dropped, uncommitted
    }
  } catch (interrupted) {
    consumer.resume([{ topic, partitions: [partition] }]);
    if (interrupted instanceof AbortedError) return false;
    throw interrupted;
  }
  return payload.isRunning() && !payload.isStale();
}
