/**
 * One fetched batch of one input partition through a processor: the replay's window, the
 * partition's producer, the transaction (transaction.ts), then the fetch position, metrics and
 * heartbeat. kafkajs fetches a failed batch again from the last committed position.
 */
import type { EachBatchPayload } from 'kafkajs';
import { nextOffset, observeBatch } from '../../core/runtime.ts';
import type { ProcessorContext } from './context.ts';
import { BatchFailedError, transactBatch } from './transaction.ts';

/** The eachBatch of a processor. */
export async function processorBatch<In, Out extends { id: string }>(
  ctx: ProcessorContext<In, Out>,
  payload: EachBatchPayload,
): Promise<void> {
  const { batch, resolveOffset, heartbeat } = payload;
  if (batch.messages.length === 0) return;
  const startedAt = performance.now();
  const { topic, partition } = batch;
  const lastOffset = replayWindow(ctx, payload); // may be a transaction marker after the last record
  if (lastOffset === undefined) return;
  const owner = await ctx.owners.ownerOf(topic, partition).catch((error: Error) => {
    throw new BatchFailedError(`cannot start the producer of ${topic}[${partition}]: ${error.message}`, {
      cause: error,
    });
  });
  const counts = await transactBatch(ctx, owner, {
    topic,
    partition,
    messages: batch.messages,
    firstOffset: batch.firstOffset(),
    lastOffset,
  });
  // never lowered: a batch skipped whole (below the offset the previous owner committed, fetched
  // from a stale position) ends below it, and the next batch must still start there
  const next = nextOffset(lastOffset);
  if (owner.next === undefined || owner.next === null || next > owner.next) owner.next = next;
  if (ctx.replay) ctx.replayed.set(partition, owner.next);
  // resolve moves the fetch position (without it kafkajs fetches the same batch again); the commit made it durable
  resolveOffset(lastOffset);
  observeBatch(ctx.labels, {
    topic,
    partition,
    ...counts,
    startedAt,
    highWatermark: batch.highWatermark,
    next: owner.next,
  });
  ctx.log.debug({ topic, partition, lastOffset, ...counts }, 'batch committed');
  ctx.checkReplayDone();
  await heartbeat(); // may throw "rebalancing": kafkajs rejoins, the batch is already committed
}

/**
 * The last offset to process in this batch: the batch's own, or, in a replay, cut at `until`.
 * Undefined when a replay has nothing to do here (past its range), or sent the consumer to `from`.
 */
function replayWindow<In, Out extends { id: string }>(
  ctx: ProcessorContext<In, Out>,
  { batch }: EachBatchPayload,
): string | undefined {
  const { replay, sought } = ctx;
  const lastOffset = batch.lastOffset();
  if (!replay) return lastOffset;
  const { topic, partition } = batch;
  const first = BigInt(batch.messages[0]!.offset);
  const until = replay.until.get(partition);
  const from = replay.from.get(partition) ?? until ?? 0n;
  if (!sought.has(partition) && first < from) {
    sought.add(partition);
    ctx.consumer.seek({ topic, partition, offset: String(from) });
    return undefined;
  }
  if (until === undefined || first >= until) return undefined; // past the range: nothing more to do here
  return BigInt(lastOffset) >= until ? String(until - 1n) : lastOffset;
}
