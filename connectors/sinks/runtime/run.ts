/**
 * The sink runtime: one topic into one table, exactly once, for any `SinkWriter`.
 *
 * Per fetched batch of a partition: records below the database's stored position are skipped
 * (they already landed), dead records go to the DLQ, then the rows are written with the position
 * (Postgres: in one transaction; ClickHouse: rows carry their offsets), and only then is the
 * offset committed to Kafka. While the database is unreachable the partition is paused and the
 * same batch retried with capped exponential back-off, heartbeating so the group keeps it: one
 * fetched batch per partition is all that is ever held in memory.
 *
 * This file composes the pieces: position.ts (where a partition starts), batch.ts (slices, write,
 * commit), core/batch-retry.ts (the retry wrapper), core/dead-letters.ts (the DLQ wrapper).
 */
import type { Kafka, Producer } from 'kafkajs';
import { sendDeadLetters } from '../../../core/dead-letters.ts';
import type { DeadLetter } from '../../../core/dlq.ts';
import { createKafka, producerDefaults } from '../../../core/kafka.ts';
import { createLogger } from '../../../core/logger.ts';
import { metrics } from '../../../core/metrics.ts';
import { once } from '../../../core/once.ts';
import { Registry } from '../../../core/schema-registry.ts';
import { groupConsumer, replayTracker, type RuntimeOptions } from '../../../core/runtime.ts';
import { sinkBatch } from './batch.ts';
import type { Position, SinkContext } from './context.ts';
import { checkSpec, type ResolvedSinkSpec, type SinkSpec } from './spec.ts';
import type { SinkWriter } from './writer.ts';

/** `onFatal`: the consumer or the spec failed for good. `replay`: upserts and the ReplacingMergeTree absorb rewrites. */
export type SinkOptions = RuntimeOptions;

export interface RunningSink {
  /** Resolves when the group has assigned partitions to this member for the first time. */
  joined: Promise<void>;
  /** Ends any back-off, lets a batch being written finish (or roll back), leaves the group. */
  stop(): Promise<void>;
}

export async function runSink<T>(
  input: SinkSpec<T>,
  writer: SinkWriter,
  options: SinkOptions = {},
): Promise<RunningSink> {
  const spec: ResolvedSinkSpec<T> = checkSpec(input);
  const kafka = options.kafka ?? createKafka(`millrace-sink-${spec.name}`);
  const registry = options.registry ?? new Registry();
  const log = options.log ?? createLogger('sink', { sink: spec.name });
  const labels = { role: 'sink', name: spec.name };
  const stopping = new AbortController();
  const positions = new Map<number, Position>();
  const checkReplayDone = replayTracker(options.replay, log, (partition) => positions.get(partition)?.next);

  await writer.check();
  const { consumer, joined, subscribe } = groupConsumer(kafka, {
    groupId: spec.groupId,
    topics: [spec.topic],
    fromBeginning: true,
    sessionTimeoutMs: spec.consumer.sessionTimeoutMs,
    heartbeatIntervalMs: spec.consumer.heartbeatIntervalMs,
    batch: spec.batch,
    log,
    onJoin: (payload) => {
      // another member may have written any partition meanwhile: read every position again
      positions.clear();
      log.info({ partitions: payload.memberAssignment[spec.topic] ?? [] }, 'partitions assigned');
      checkReplayDone();
    },
    onCrash: () => positions.clear(),
    onFatal: options.onFatal,
  });
  const dlq: Producer = kafka.producer({ ...producerDefaults, idempotent: true });
  await Promise.all([consumer.connect(), dlq.connect()]);
  const clusterId = await clusterIdOf(kafka);

  const toDlq = async (dead: readonly DeadLetter[]): Promise<void> => {
    if (dead.length === 0) return;
    await sendDeadLetters(dlq, dead, spec.stage, log);
    metrics.dlq.inc(labels, dead.length);
  };
  const ctx: SinkContext<T> = {
    spec,
    writer,
    registry,
    consumer,
    clusterId,
    log,
    labels,
    replay: options.replay,
    signal: stopping.signal,
    positions,
    toDlq,
    checkReplayDone,
  };
  await subscribe();
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: writer.concurrency ?? 1,
    eachBatch: (payload) => sinkBatch(ctx, payload),
  });

  return {
    joined,
    stop: once(async () => {
      stopping.abort();
      await consumer.disconnect();
      await dlq.disconnect();
      await writer.close();
      log.info('sink stopped');
    }),
  };
}

/** The Kafka cluster's id: stored with every position (a formatted-again local Kafka starts a new log). */
async function clusterIdOf(kafka: Kafka): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  const { clusterId } = await admin.describeCluster().finally(() => admin.disconnect());
  return clusterId;
}
