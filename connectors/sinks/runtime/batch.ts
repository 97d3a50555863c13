/**
 * One fetched batch of one partition through the sink: skip what the table already holds, cut the
 * rest into slices of at most `batch.maxRows`, and per slice: prepare the rows (dead ones to the
 * DLQ), write them with their position (retried through an outage), and only then commit the
 * offset to Kafka through the batch payload.
 */
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { retryBatch } from '../../../core/batch-retry.ts';
import { commitThroughBatch, nextOffset, observeBatch } from '../../../core/runtime.ts';
import { retryOf, type Position, type SinkContext } from './context.ts';
import { positionFor } from './position.ts';
import { prepareRows } from './prepare.ts';
import type { PreparedRow, WriteOutcome } from './writer.ts';

/** The eachBatch of a sink. */
export async function sinkBatch<T>(ctx: SinkContext<T>, payload: EachBatchPayload): Promise<void> {
  const { batch } = payload;
  const { topic, partition } = batch;
  if (batch.messages.length === 0) return;
  const state = await positionFor(ctx, payload);
  if (!state) return;
  const until = ctx.replay ? (ctx.replay.until.get(partition) ?? 0n) : undefined;
  const pending = batch.messages.filter(
    (m) => BigInt(m.offset) >= state.next && (until === undefined || BigInt(m.offset) < until),
  );
  const skipped = batch.messages.length - pending.length;
  if (skipped > 0)
    ctx.log.info({ partition, skipped, next: String(state.next) }, 'skipping records already in the table');
  if (pending.length === 0 && BigInt(batch.lastOffset()) < state.next) {
    // everything fetched is already in the table: fetch from the stored position next
    ctx.consumer.seek({ topic, partition, offset: String(state.next) });
    return;
  }
  const { maxRows } = ctx.spec.batch;
  for (let i = 0; i < pending.length || (i === 0 && skipped > 0); i += maxRows) {
    const last = i + maxRows >= pending.length;
    const slice = pending.slice(i, i + maxRows);
    // the final slice ends past the batch's last offset: transaction markers after it are done too
    let next = last ? nextOffset(batch.lastOffset()) : nextOffset(slice.at(-1)!.offset);
    if (until !== undefined && next > until) next = until;
    if (next <= state.next) break;
    if (!(await writeSlice(ctx, payload, state, slice, next))) return;
  }
  ctx.checkReplayDone();
}

/**
 * Writes [state.next, next) (its records: `slice`) and commits `next`; false when the batch was
 * dropped on the way (stopping, or the partition moved), with nothing committed past what is durable.
 */
async function writeSlice<T>(
  ctx: SinkContext<T>,
  payload: EachBatchPayload,
  state: Position,
  slice: KafkaMessage[],
  next: bigint,
): Promise<boolean> {
  const { batch } = payload;
  const startedAt = performance.now();
  const start = state.next;
  const retry = retryOf(ctx, payload);
  const outcome = await retryBatch(retry, 'write', async (retrying): Promise<WriteOutcome> => {
    const { rows, dead } = await prepareRows(ctx.spec, ctx.registry, batch.topic, batch.partition, slice);
    await ctx.toDlq(dead);
    const refusedRow = (row: PreparedRow, error: Error) => ctx.toDlq([{ source: row.source, error }]);
    // a replay rewrites on purpose: reading the table's position back would skip it all
    const verify = retrying && !ctx.replay;
    // Still a member? kafkajs asks the coordinator when the last heartbeat is older than its interval
    // (after a stall or a cut link, always): a member the group replaced must not insert what the
    // partition's new owner, having read the table already, writes too (a chaos run found 5,000 rows
    // twice so). It throws then, and the batch is dropped uncommitted.
    await payload.heartbeat();
    return ctx.writer.write(
      { clusterId: ctx.clusterId, topic: batch.topic, partition: batch.partition, start, next, rows, verify },
      refusedRow,
    );
  });
  if (!outcome) return false;
  state.next = outcome.durable;
  // durable in the database: now Kafka may know (a crash before this only repeats skipped work)
  const committed = await retryBatch(retry, 'offset commit', () =>
    commitThroughBatch(payload, outcome.durable).then(() => true),
  );
  if (!committed) return false;
  payload.resolveOffset((outcome.durable - 1n).toString());
  const { topic, partition, highWatermark } = batch;
  observeBatch(ctx.labels, {
    topic,
    partition,
    in: slice.length,
    out: outcome.written,
    startedAt,
    highWatermark,
    next: outcome.durable,
  });
  ctx.log.debug(
    { partition, next: String(outcome.durable), written: outcome.written, refused: outcome.refused },
    'batch durable',
  );
  await payload.heartbeat();
  return true;
}
