/**
 * Reading a bounded slice of a topic, committed records only: per partition from an offset up to
 * an end fixed when the read starts, under a throwaway consumer group (kafkajs has no manual
 * assignment). Transaction markers take offsets too, so the read tracks each partition's position
 * through whole batches rather than through the records it is handed.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { errorKind } from './errors.ts';

export class TopicRangeError extends errorKind('TopicRangeError', { code: 'topic_range', status: 400 }) {}

/** Per partition: the first offset to read and the end (exclusive). */
export type Bounds = Map<number, { from: bigint; until: bigint }>;

export interface RangeRecord {
  partition: number;
  offset: bigint;
  message: KafkaMessage;
}

/** Each partition's `low`/`high` now, or the offsets of the first records at or after `ms`. */
export async function topicOffsets(kafka: Kafka, topic: string, ms?: number): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic).catch((error: Error) => {
      throw new TopicRangeError(`topic ${topic}: ${error.message}`);
    });
    if (ms === undefined) return new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
    const found = await admin.fetchTopicOffsetsByTimestamp(topic, ms);
    // -1: no record at or after the time, so the partition's slice starts at its end
    const high = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
    return new Map(found.map((f) => [f.partition, f.offset === '-1' ? high.get(f.partition)! : BigInt(f.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** Each partition's whole log now: from its first offset still kept to its end (one metadata call). */
export async function wholeTopic(kafka: Kafka, topic: string): Promise<Bounds> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic).catch((error: Error) => {
      throw new TopicRangeError(`topic ${topic}: ${error.message}`);
    });
    return new Map(ends.map((e) => [e.partition, { from: BigInt(e.low), until: BigInt(e.high) }]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Hands `visit` every committed record in `bounds`, partition by partition in offset order (the
 * partitions interleave). `visit` returns false to stop; the returned map is, per partition, the
 * next offset not yet handed over (its `until` when the partition was read to the end).
 *
 * @example
 * ```ts
 * const ends = await topicOffsets(kafka, 'samples.flights.raw.dlq');
 * const bounds = new Map([...ends].map(([p, until]) => [p, { from: 0n, until }]));
 * await readRange(kafka, 'samples.flights.raw.dlq', bounds, (r) => (seen.push(r), true));
 * ```
 */
export async function readRange(
  kafka: Kafka,
  topic: string,
  bounds: Bounds,
  visit: (record: RangeRecord) => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<Map<number, bigint>> {
  const next = new Map([...bounds].map(([p, b]) => [p, b.from < b.until ? b.from : b.until]));
  const open = () => [...bounds].filter(([p, b]) => next.get(p)! < b.until);
  if (open().length === 0) return next;

  const groupId = `millrace.range.${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
  let stopped = false;
  let finish: (error?: Error) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => (finish = (error) => (error ? reject(error) : resolve())));
  const check = () => {
    if (open().length === 0) finish();
  };
  // a batch may hold only a commit marker: its end still moves the position on
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (stopped) return;
    const after = BigInt(payload.lastOffset) + 1n;
    const until = bounds.get(payload.partition)?.until;
    if (until !== undefined && after > next.get(payload.partition)!)
      next.set(payload.partition, after < until ? after : until);
    check();
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        const until = bounds.get(batch.partition)?.until;
        if (stopped || until === undefined) return;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < next.get(batch.partition)! || offset >= until) continue;
          const more = await visit({ partition: batch.partition, offset, message });
          next.set(batch.partition, offset + 1n);
          resolveOffset(message.offset);
          if (!more) {
            stopped = true;
            finish();
            return;
          }
        }
      },
    });
    for (const [partition] of open()) consumer.seek({ topic, partition, offset: String(next.get(partition)) });
    const timer = setTimeout(
      () => finish(new TopicRangeError(`reading ${topic} did not reach the end of its range in ${timeoutMs} ms`)),
      timeoutMs,
    );
    await finished.finally(() => clearTimeout(timer));
  } finally {
    stopped = true;
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined); // nothing was committed: best effort
    await admin.disconnect();
  }
  return next;
}
