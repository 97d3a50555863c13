/**
 * Per-partition keyed state for processors that need memory across records (a window of prices),
 * kept the Kafka Streams way: a compacted changelog topic written in the same transaction as the
 * outputs and the offsets, so state, output and position move together or not at all.
 *
 * Each input partition's state lives in the changelog partition of the same number (written with an
 * explicit partition, so keys need no co-partitioning). The owner of an input partition restores
 * it after fencing the previous owner, when every transaction that owner began has ended.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, Message } from 'kafkajs';
import { loadConfig } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import { errorKind } from '../../core/errors.ts';

/** What a transform sees: the state of the batch's partition; writes are kept apart until the batch commits. */
export interface PartitionState {
  get<T>(key: string): T | undefined;
  put(key: string, value: unknown): void;
}

export class StateStore implements PartitionState {
  private readonly pending = new Map<string, string>();

  constructor(private readonly committed = new Map<string, string>()) {}

  get<T>(key: string): T | undefined {
    const text = this.pending.get(key) ?? this.committed.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  put(key: string, value: unknown): void {
    this.pending.set(key, JSON.stringify(value));
  }

  /** The batch's writes as changelog messages for `partition`. */
  changes(partition: number): Message[] {
    return [...this.pending].map(([key, value]) => ({ key, value, partition }));
  }

  /** The batch committed: its writes become the state. */
  commit(): void {
    for (const [key, value] of this.pending) this.committed.set(key, value);
    this.pending.clear();
  }

  /** The batch aborted: its writes never happened. */
  rollback(): void {
    this.pending.clear();
  }

  get size(): number {
    return this.committed.size;
  }
}

export class StateRestoreError extends errorKind('StateRestoreError', { code: 'state_restore' }) {}

/**
 * Creates the changelog (compacted, as many partitions as the input) unless it exists; refuses one
 * with fewer partitions than the input, whose state would have nowhere to go.
 */
export async function ensureChangelog(admin: Admin, topic: string, input: string): Promise<void> {
  const partitionsOf = async (name: string) =>
    (await admin.fetchTopicMetadata({ topics: [name] })).topics[0]!.partitions.length;
  const wanted = await partitionsOf(input);
  if (!(await admin.listTopics()).includes(topic)) {
    // a second instance starting at the same moment gets false back, not an error
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: wanted,
          replicationFactor: loadConfig().KAFKA_REPLICATION_FACTOR,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    });
  }
  const has = await partitionsOf(topic);
  if (has < wanted)
    throw new StateRestoreError(`changelog ${topic} has ${has} partitions; the input ${input} has ${wanted}`);
}

/**
 * Reads one changelog partition from its start to its end (read_committed), last value per key. A
 * throwaway consumer group does the reading: kafkajs cannot fetch without one.
 */
export async function restoreState(kafka: Kafka, topic: string, partition: number, log: Logger): Promise<StateStore> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `millrace.restore.${topic}.${partition}.${randomUUID()}`;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const ends = offsets.find((o) => o.partition === partition);
    if (!ends)
      throw new StateRestoreError(
        `changelog ${topic} has no partition ${partition}: it needs at least as many partitions as the input`,
      );
    const state = new Map<string, string>();
    const high = BigInt(ends.high);
    if (BigInt(ends.low) >= high) return new StateStore(state);

    const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
        void consumer.subscribe({ topic, fromBeginning: true }).then(
          () =>
            consumer.run({
              autoCommit: false,
              eachBatch: async ({ batch }) => {
                if (batch.partition !== partition) return;
                for (const message of batch.messages) {
                  const key = message.key?.toString();
                  if (key === undefined) continue;
                  if (message.value === null) state.delete(key);
                  else state.set(key, message.value.toString());
                }
                if (BigInt(batch.lastOffset()) + 1n >= high) resolve();
              },
            }),
          reject,
        );
      });
    } finally {
      await consumer.disconnect();
    }
    log.info({ topic, partition, keys: state.size, records: String(high - BigInt(ends.low)) }, 'state restored');
    return new StateStore(state);
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined); // the group held no offsets worth keeping
    await admin.disconnect();
  }
}
