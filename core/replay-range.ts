/**
 * The slice of a topic a replay covers: per partition, from an offset or the first record at or
 * after a time, up to the end of the log when the replay starts (records produced later are the
 * live consumers' business).
 */
import type { Kafka } from 'kafkajs';
import { errorKind } from './errors.ts';

export interface ReplayRange {
  topic: string;
  /** per partition: first offset to re-run */
  from: Map<number, bigint>;
  /** per partition: the end of the log when the replay started (exclusive) */
  until: Map<number, bigint>;
}

export class ReplayRangeError extends errorKind('ReplayRangeError', { code: 'replay_range', status: 400 }) {}

/**
 * `from`: a non-negative integer is an offset (in every partition, or the one given); anything
 * else must parse as a time (ISO 8601, e.g. 2026-11-23T10:00:00Z).
 *
 * @example
 * const range = await replayRange(createKafka(), 'market.pages.raw', '2026-11-23T10:00:00Z');
 * const records = replaySize(range);
 */
export async function replayRange(kafka: Kafka, topic: string, from: string, partition?: number): Promise<ReplayRange> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic).catch((error: Error) => {
      throw new ReplayRangeError(`topic ${topic}: ${error.message}`);
    });
    const partitions = ends.map((e) => e.partition);
    if (partition !== undefined && !partitions.includes(partition)) {
      throw new ReplayRangeError(`topic ${topic} has no partition ${partition} (it has ${partitions.length})`);
    }
    const chosen = (p: number) => partition === undefined || p === partition;
    const until = new Map(ends.filter((e) => chosen(e.partition)).map((e) => [e.partition, BigInt(e.high)]));
    const starts = new Map(ends.filter((e) => chosen(e.partition)).map((e) => [e.partition, BigInt(e.low)]));

    let first: Map<number, bigint>;
    if (/^\d+$/.test(from)) {
      const offset = BigInt(from);
      first = new Map([...starts].map(([p, low]) => [p, offset < low ? low : offset]));
    } else {
      const time = Date.parse(from);
      if (Number.isNaN(time))
        throw new ReplayRangeError(`--from ${JSON.stringify(from)} is neither an offset nor a time (ISO 8601)`);
      const found = await admin.fetchTopicOffsetsByTimestamp(topic, time);
      // no record at or after the time: the partition's end (nothing to replay there)
      first = new Map(
        found
          .filter((f) => chosen(f.partition))
          .map((f) => [f.partition, f.offset === '-1' ? until.get(f.partition)! : BigInt(f.offset)]),
      );
    }
    return { topic, from: first, until };
  } finally {
    await admin.disconnect();
  }
}

/** Records a replay will re-run: the sum over partitions of until - from. */
export const replaySize = (range: ReplayRange): bigint =>
  [...range.from].reduce((sum, [p, from]) => sum + (range.until.get(p)! > from ? range.until.get(p)! - from : 0n), 0n);
