/**
 * The processor runtime: consume-transform-produce, exactly-once, for any `ProcessorSpec`.
 *
 * Every fetched batch of one input partition becomes one Kafka transaction holding the output
 * records (those of side outputs too), the DLQ records and the consumer offset (last offset + 1).
 * A failure anywhere aborts it and the batch is fetched again from the last committed position;
 * the consumer reads with read_committed and commits nothing itself.
 *
 * Fencing (kafkajs' TxnOffsetCommit stops at v1, so the broker cannot fence by consumer
 * generation): each input partition has its own transactional producer, transactionalId
 * `millrace.processor.<name>.<topic>.<partition>`, created when the partition is first seen in a
 * batch and dropped when it is revoked. Initialising that id on the new owner bumps its epoch: the
 * previous owner's open transaction is aborted (or, if it was already committing, waited for), and
 * anything that owner still tries to write is refused. Only after that does the new owner read the
 * group's committed offset for the partition, and it skips records below it: the position kafkajs
 * fetched when the partition was assigned may predate the previous owner's last commit.
 *
 * This file composes the pieces: owners.ts (a producer per partition), batch.ts (one batch),
 * transaction.ts (its transaction), transform.ts (decode, transform, encode).
 */
import type { Admin } from 'kafkajs';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { once } from '../../core/once.ts';
import { Registry } from '../../core/schema-registry.ts';
import { groupConsumer, replayTracker, type RuntimeOptions } from '../../core/runtime.ts';
import { processorBatch } from './batch.ts';
import type { ProcessorContext } from './context.ts';
import { PartitionOwners } from './owners.ts';
import { processorGroupOf, type ProcessorSpec } from './spec.ts';
import { ensureChangelog } from './state.ts';
import { OutputEncoders } from './output-encoders.ts';

export { BatchFailedError } from './transaction.ts';

export interface ProcessorOptions extends RuntimeOptions {
  /** Input partitions processed at the same time, each in its own transaction (default 3). */
  concurrency?: number;
  /**
   * A member silent this long loses its partitions (kafkajs default 30 s; the broker's minimum is
   * 6 s). kafkajs heartbeats between batches, so a batch must take less than this.
   */
  sessionTimeoutMs?: number;
  /** Kafka aborts a transaction left open this long by a dead owner (default 60 s). */
  transactionTimeoutMs?: number;
}

export interface RunningProcessor {
  /** Lets the batch in flight commit (or abort), then leaves the group and closes every client. */
  stop(): Promise<void>;
  /** Resolves when the group has assigned partitions to this member for the first time. */
  joined: Promise<void>;
}

export async function runProcessor<In, Out extends { id: string }>(
  spec: ProcessorSpec<In, Out>,
  options: ProcessorOptions = {},
): Promise<RunningProcessor> {
  const kafka = options.kafka ?? createKafka(`millrace-processor-${spec.name}`);
  const registry = options.registry ?? new Registry();
  const log = options.log ?? createLogger('processor', { processor: spec.name });
  const groupId = processorGroupOf(spec.name);
  // a replay runs under another name: its state writes would corrupt the live processor's changelog
  if (spec.state && options.replay)
    throw new Error(`processor ${spec.name} keeps state; replay its input through the live processor instead`);

  const owners = new PartitionOwners(kafka, spec.name, options.transactionTimeoutMs ?? 60_000, log);
  const replayed = new Map<number, bigint>();
  const checkReplayDone = replayTracker(options.replay, log, (partition) => replayed.get(partition));
  const { consumer, joined, subscribe } = groupConsumer(kafka, {
    groupId,
    topics: [spec.input],
    fromBeginning: true,
    sessionTimeoutMs: options.sessionTimeoutMs,
    log,
    onJoin: (payload) => {
      log.info(owners.assigned(payload), 'partitions assigned');
      checkReplayDone();
    },
    onCrash: () => owners.crashed(),
    onFatal: options.onFatal,
  });
  const admin: Admin = kafka.admin();
  await Promise.all([consumer.connect(), admin.connect()]);

  const ctx: ProcessorContext<In, Out> = {
    spec,
    kafka,
    registry,
    encoders: new OutputEncoders(registry),
    log,
    groupId,
    consumer,
    admin,
    owners,
    replayed,
    checkReplayDone,
    replay: options.replay,
    stage: `processor.${spec.name}`,
    labels: { role: 'processor', name: spec.name },
    outputs: new Set([spec.output, ...(spec.sideOutputs ?? [])]),
    sought: new Set(),
  };
  if (spec.state) await ensureChangelog(admin, spec.state.topic, spec.input);
  await subscribe();
  const partitionsConsumedConcurrently = options.concurrency ?? 3;
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently,
    eachBatch: (payload) => processorBatch(ctx, payload),
  });

  return {
    joined,
    stop: once(async () => {
      await consumer.disconnect(); // waits for the batches in flight: each commits or aborts
      await owners.close();
      await admin.disconnect();
      log.info('processor stopped');
    }),
  };
}
