/**
 * The transaction per input partition: one fetched batch becomes one Kafka transaction of the
 * partition's own producer, holding the outputs, the state changes, the dead letters and the
 * consumer offset (last offset + 1). The first transaction of a producer is the fence; only after
 * it does the owner read the group's committed offset (and restore its state), skipping anything
 * below. A failure aborts the transaction and fails the batch, which kafkajs fetches again.
 */
import type { KafkaMessage, Transaction } from 'kafkajs';
import { sendChunked } from '../../core/dead-letters.ts';
import { nextOffset } from '../../core/runtime.ts';
import { dlqTopicOf } from '../../schemas/topic-spec.ts';
import type { ProcessorContext } from './context.ts';
import type { PartitionOwner } from './owners.ts';
import { restoreState } from './state.ts';
import { processMessages } from './transform.ts';
import { errorKind } from '../../core/errors.ts';

/** Thrown out of a batch so that kafkajs re-delivers it: always retriable (kafkajs gives up on some). */
export class BatchFailedError extends errorKind('BatchFailedError', { code: 'batch_failed', retriable: true }) {}

/** What the batch needs of kafkajs' batch: where it is, and what to process up to (a replay may stop early). */
export interface BatchSlice {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  firstOffset: string | null;
  lastOffset: string;
}

export interface BatchCounts {
  in: number;
  out: number;
  dead: number;
}

/** Runs the batch in one transaction of `owner`: committed when this returns, aborted (BatchFailedError) when it throws. */
export async function transactBatch<In, Out extends { id: string }>(
  ctx: ProcessorContext<In, Out>,
  owner: PartitionOwner,
  batch: BatchSlice,
): Promise<BatchCounts> {
  let txn: Transaction | undefined;
  try {
    // the first transaction initialises the producer id: the fence; it waits for the previous owner's transaction to end
    txn = await owner.producer.transaction();
    await afterFence(ctx, owner, batch);
    const counts = await writeBatch(ctx, txn, owner, batch);
    await txn.commit(); // nothing registered (all skipped): ends locally, no request
    owner.state?.commit();
    return counts;
  } catch (error) {
    throw await abortBatch(ctx, owner, txn, batch, error as Error);
  }
}

/** Once per producer, behind its fence: the group's committed offset of the partition, and its state. */
async function afterFence<In, Out extends { id: string }>(
  ctx: ProcessorContext<In, Out>,
  owner: PartitionOwner,
  batch: BatchSlice,
): Promise<void> {
  if (owner.next !== undefined && owner.next !== null) return;
  const { topic, partition } = batch;
  owner.next = await committedOffset(ctx, topic, partition);
  if (ctx.spec.state) owner.state = await restoreState(ctx.kafka, ctx.spec.state.topic, partition, ctx.log);
  ctx.log.info(
    { topic, partition, committed: String(owner.next), fetchedFrom: batch.firstOffset },
    'partition producer ready',
  );
}

/**
 * The group's committed offset of one partition, or null when there is none. Asked as a stable read
 * (OffsetFetch v7's require_stable, patched into kafkajs): the previous owner's transaction has
 * ended when the fence returns, but the group coordinator applies its offsets a moment later, and a
 * plain read in that moment returns the offset before them, so the records they cover would be
 * processed again (the cluster chaos run found 19 so). While they are pending the coordinator answers
 * UNSTABLE_OFFSET_COMMIT, and the read is asked again. Only this partition is asked for (patched in
 * too): the other partitions' transactions, always some in flight, would make the read unstable.
 */
async function committedOffset<In, Out extends { id: string }>(
  ctx: ProcessorContext<In, Out>,
  topic: string,
  partition: number,
): Promise<bigint | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      const [committed] = await ctx.admin.fetchOffsets({
        groupId: ctx.groupId,
        topics: [{ topic, partitions: [partition] }],
        requireStable: true,
      });
      const offset = committed?.partitions.find((p) => p.partition === partition)?.offset;
      return offset === undefined || offset === '-1' ? null : BigInt(offset);
    } catch (error) {
      if ((error as { type?: string }).type !== 'UNSTABLE_OFFSET_COMMIT' || attempt === UNSTABLE_READS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Reads of a pending offset, 50 ms apart, before the batch fails (and is retried with back-off). */
const UNSTABLE_READS = 200;

/** Sends the batch's outputs, state changes, dead letters and offset in `txn`; skips records the previous owner committed. */
async function writeBatch<In, Out extends { id: string }>(
  ctx: ProcessorContext<In, Out>,
  txn: Transaction,
  owner: PartitionOwner,
  batch: BatchSlice,
): Promise<BatchCounts> {
  const { topic, partition, lastOffset } = batch;
  const floor = owner.next ?? null;
  const messages = batch.messages.filter(
    (m) => (floor === null || BigInt(m.offset) >= floor) && BigInt(m.offset) <= BigInt(lastOffset),
  );
  if (messages.length === 0) {
    ctx.log.info(
      { topic, partition, firstOffset: batch.firstOffset, lastOffset, committed: String(floor) },
      'skipping records the previous owner committed',
    );
    return { in: 0, out: 0, dead: 0 };
  }
  const { out, dead } = await processMessages(ctx, topic, partition, messages, owner.state);
  for (const [target, records] of out) if (records.length > 0) await sendChunked(txn, target, records);
  const changes = owner.state?.changes(partition) ?? [];
  if (changes.length > 0) await sendChunked(txn, ctx.spec.state!.topic, changes);
  if (dead.length > 0) await sendChunked(txn, dlqTopicOf(topic), dead);
  const next = nextOffset(lastOffset).toString();
  await txn.sendOffsets({
    consumerGroupId: ctx.groupId,
    topics: [{ topic, partitions: [{ partition, offset: next }] }],
  });
  return { in: messages.length, out: [...out.values()].reduce((n, m) => n + m.length, 0), dead: dead.length };
}

/** Rolls the batch back: state, transaction, and the producer if it is in doubt. The error to throw. */
async function abortBatch<In, Out extends { id: string }>(
  ctx: ProcessorContext<In, Out>,
  owner: PartitionOwner,
  txn: Transaction | undefined,
  batch: BatchSlice,
  error: Error,
): Promise<BatchFailedError> {
  const { topic, partition, lastOffset } = batch;
  owner.state?.rollback();
  let aborted = false;
  try {
    if (txn?.isActive()) await txn.abort();
    aborted = true;
  } catch (abortError) {
    ctx.log.warn({ err: abortError }, 'abort failed');
  }
  // a Kafka-side failure (fenced, coordinator moved, timed out) leaves the producer in doubt: start over with a new one
  const kafkaSide = error.name.startsWith('KafkaJS');
  if (!aborted || kafkaSide) ctx.owners.discard(owner, `batch failed: ${error.message}`);
  ctx.log.warn(
    { topic, partition, firstOffset: batch.firstOffset, lastOffset, err: error },
    'batch aborted, will be retried',
  );
  return new BatchFailedError(
    `batch ${topic}[${partition}] ${batch.firstOffset}..${lastOffset} aborted: ${error.message}`,
    { cause: error },
  );
}
