/**
 * What the processor runtime, the sink runtime and `millrace consume` share around their Kafka
 * consumer: one options type, the group consumer with its join/crash bookkeeping, the commit
 * through the batch payload, offsets (last processed + 1), batch metrics and replay progress.
 */
import type { Consumer, ConsumerCrashEvent, ConsumerGroupJoinEvent, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from './logger.ts';
import { metrics } from './metrics.ts';
import type { Registry } from './schema-registry.ts';
import type { ReplayRange } from './replay-range.ts';

/** A re-run of a slice of the input: `onDone` once every partition reached `until`. */
export type Replay = ReplayRange & { onDone: () => void };

/** What a caller may hand any runtime; each fills in what is missing (its own Kafka client, registry, logger). */
export interface RuntimeOptions {
  kafka?: Kafka;
  registry?: Registry;
  log?: Logger;
  /** The consumer crashed and kafkajs will not restart it: the runtime has stopped working. */
  onFatal?: (error: Error) => void;
  /**
   * Re-run a slice of the input instead of following it: start at `from`, stop at `until`, call
   * `onDone` once every partition got there. Give the spec a name of its own (its consumer group):
   * idempotent writes absorb what is produced or written again.
   */
  replay?: Replay;
}

/** The labels of a runtime's metrics. */
export interface MetricLabels {
  role: string;
  name: string;
}

/** How a runtime consumes: the group, the topics, batching, and who hears about it. */
export interface ConsumeOptions {
  groupId: string;
  topics: readonly string[];
  /** Where a group without committed offsets starts. */
  fromBeginning: boolean;
  readUncommitted?: boolean;
  /** A member silent this long loses its partitions (broker minimum 6 s; kafkajs default 30 s). */
  sessionTimeoutMs?: number;
  /** Default: a fifth of the session timeout, at least 500 ms. */
  heartbeatIntervalMs?: number;
  /**
   * A fetch returns as soon as the broker holds a record (fetch.min.bytes 1), so a caught-up stream
   * is handled at once and what arrives meanwhile is the next batch; on an idle topic the broker
   * holds the fetch up to maxMs (fetch.max.wait.ms). Lagging, every fetch comes back full anyway.
   */
  batch?: { maxRows: number; maxMs: number };
  log: Logger;
  /** The group (re)assigned partitions to this member; called before `joined` resolves. */
  onJoin?: (payload: ConsumerGroupJoinEvent['payload']) => void;
  /** The consumer crashed (logged already); `onFatal` follows when kafkajs will not restart it. */
  onCrash?: (payload: ConsumerCrashEvent['payload']) => void;
  onFatal?: (error: Error) => void;
}

export interface GroupConsumer {
  consumer: Consumer;
  /** Resolves when the group has assigned partitions to this member for the first time. */
  joined: Promise<void>;
  /** Subscribes to every topic; call once the clients are connected. */
  subscribe(): Promise<void>;
}

/**
 * A consumer of `options.groupId` (not connected yet), with the join and crash listeners wired.
 *
 * @example
 * ```ts
 * const { consumer, joined, subscribe } = groupConsumer(kafka, { groupId, topics: [topic], fromBeginning: true, log });
 * await consumer.connect();
 * await subscribe();
 * await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
 * ```
 */
export function groupConsumer(kafka: Kafka, options: ConsumeOptions): GroupConsumer {
  const { sessionTimeoutMs, batch, log } = options;
  const consumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: options.readUncommitted ?? false,
    ...(sessionTimeoutMs
      ? {
          sessionTimeout: sessionTimeoutMs,
          heartbeatInterval: options.heartbeatIntervalMs ?? Math.max(500, Math.floor(sessionTimeoutMs / 5)),
        }
      : {}),
    ...(batch ? { maxWaitTimeInMs: batch.maxMs, minBytes: 1 } : {}),
  });
  let markJoined: () => void = () => {};
  const joined = new Promise<void>((resolve) => (markJoined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    options.onJoin?.(payload);
    markJoined();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    options.onCrash?.(payload);
    log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    if (!payload.restart) options.onFatal?.(payload.error);
  });
  const subscribe = async () => {
    for (const topic of options.topics) await consumer.subscribe({ topic, fromBeginning: options.fromBeginning });
  };
  return { consumer, joined, subscribe };
}

/** The offset to commit or send after processing `last`: last processed + 1. */
export const nextOffset = (last: string | bigint): bigint => BigInt(last) + 1n;

/**
 * Commits `next` for the batch's partition through the batch payload: kafkajs silently skips
 * consumer.commitOffsets once a stop has begun, which would repeat the batch after a SIGTERM.
 */
export async function commitThroughBatch(
  payload: Pick<EachBatchPayload, 'batch' | 'commitOffsetsIfNecessary'>,
  next: bigint,
): Promise<void> {
  const { topic, partition } = payload.batch;
  await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next.toString() }] }] });
}

/** One batch done: records in, out (produced or written), dead; its duration; the partition's lag. */
export interface BatchObservation {
  topic: string;
  partition: number;
  in: number;
  out: number;
  /** Left out where dead letters are counted as they are sent. */
  dead?: number;
  startedAt: number;
  highWatermark: string;
  next: bigint;
}

export function observeBatch(labels: MetricLabels, batch: BatchObservation): void {
  metrics.recordsIn.inc(labels, batch.in);
  metrics.recordsOut.inc(labels, batch.out);
  if (batch.dead !== undefined) metrics.dlq.inc(labels, batch.dead);
  metrics.batchSize.observe(labels, batch.in);
  metrics.batchSeconds.observe(labels, (performance.now() - batch.startedAt) / 1000);
  metrics.lag.set(
    { ...labels, topic: batch.topic, partition: String(batch.partition) },
    Number(BigInt(batch.highWatermark) - batch.next),
  );
}

/**
 * Calls `replay.onDone` once, when every partition's progress (the next offset to re-run, `from`
 * while unknown) reached `until`. Returns the check to call after each batch and each join.
 */
export function replayTracker(
  replay: Replay | undefined,
  log: Logger,
  progressOf: (partition: number) => bigint | undefined,
): () => void {
  let announced = false;
  return () => {
    if (!replay || announced) return;
    if (![...replay.until].every(([p, until]) => (progressOf(p) ?? replay.from.get(p)!) >= until)) return;
    announced = true;
    log.info({ topic: replay.topic }, 'replay reached the end of its range');
    replay.onDone();
  };
}
