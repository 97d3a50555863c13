/**
 * Where a sink starts in a partition it was just assigned: the database's stored position (the
 * truth for an authoritative writer, a floor otherwise) combined with where Kafka's fetch stands,
 * or the replay's `from`.
 */
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { retryBatch } from '../../../core/batch-retry.ts';
import { retryOf, type Position, type SinkContext } from './context.ts';

/** The starting position, or undefined when the batch must be dropped (stopping, or the partition moved). */
export async function startingPoint<T>(
  ctx: SinkContext<T>,
  payload: EachBatchPayload,
  first: KafkaMessage,
): Promise<Position | undefined> {
  const { consumer, writer, replay, log, clusterId } = ctx;
  const { topic, partition } = payload.batch;
  const fetched = BigInt(first.offset);
  if (replay) {
    const from = replay.from.get(partition) ?? replay.until.get(partition) ?? fetched;
    if (from < fetched) consumer.seek({ topic, partition, offset: String(from) });
    return { next: from, sought: from < fetched };
  }
  const stored = await retryBatch(retryOf(ctx, payload), 'reading the stored position', () =>
    writer.positions(topic, [partition], clusterId),
  );
  if (stored === undefined) return undefined;
  const position = stored.get(partition);
  if (position === undefined) return { next: fetched, sought: false };
  if (writer.authoritative && position < fetched) {
    // the database is behind Kafka's committed offset (restored from a backup, say): rewind once
    log.warn({ partition, stored: String(position), fetched: first.offset }, 'seeking back to the stored position');
    consumer.seek({ topic, partition, offset: String(position) });
    return { next: position, sought: true };
  }
  return { next: position > fetched ? position : fetched, sought: false };
}

/**
 * The partition's position, read on its first batch since the (re)join; undefined when this batch
 * is to be dropped (the consumer was sent elsewhere, or reading failed for good).
 */
export async function positionFor<T>(ctx: SinkContext<T>, payload: EachBatchPayload): Promise<Position | undefined> {
  const { partition, messages } = payload.batch;
  const known = ctx.positions.get(partition);
  if (known) return known;
  const found = await startingPoint(ctx, payload, messages[0]!);
  if (!found) return undefined;
  ctx.positions.set(partition, found);
  return found.sought ? undefined : found; // sought: the next fetch starts at the stored position
}
