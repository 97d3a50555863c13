/**
 * Typed Avro consumer with a dead-letter queue. Each fetched batch is decoded; what cannot be
 * decoded goes to `<topic>.dlq` with the reason and its origin in headers; the decoded records
 * are handed to `handle`; only then are the offsets committed (last handled + 1). A crash
 * therefore repeats at most the batch in flight and never skips one. `stop()` lets the batch in
 * flight finish and commit before it disconnects.
 */
import type { Consumer, IHeaders, Kafka, Producer } from 'kafkajs';
import { toDlqMessage } from './dlq.ts';
import { chunkMessages } from './message-chunks.ts';
import { producerDefaults } from './kafka.ts';
import type { Logger } from './logger.ts';
import { UndecodableError, type Registry } from './schema-registry.ts';
import { dlqTopicOf } from '../schemas/topic-spec.ts';

export interface ConsumedRecord<T> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  schemaId: number;
  timestamp: string;
  headers: IHeaders;
  value: T;
}

export interface AvroConsumerOptions<T> {
  kafka: Kafka;
  registry: Registry;
  groupId: string;
  topics: string[];
  /** Where a record falls out of the stream, named in DLQ headers (e.g. `consume`, `sink.clickhouse`). */
  stage: string;
  fromBeginning?: boolean;
  readUncommitted?: boolean;
  log: Logger;
  handle: (records: ConsumedRecord<T>[]) => Promise<void>;
}

export interface RunningConsumer {
  stop(): Promise<void>;
  /** Resolves when the group has assigned partitions to this member for the first time. */
  joined: Promise<void>;
}

export async function startAvroConsumer<T>(options: AvroConsumerOptions<T>): Promise<RunningConsumer> {
  const { kafka, registry, log, stage } = options;
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: options.readUncommitted ?? false,
  });
  const dlq: Producer = kafka.producer({ ...producerDefaults, idempotent: true });
  await Promise.all([consumer.connect(), dlq.connect()]);

  let markJoined: () => void = () => {};
  const joined = new Promise<void>((resolve) => (markJoined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => markJoined());

  for (const topic of options.topics) await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? false });

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, heartbeat, resolveOffset, commitOffsetsIfNecessary }) => {
      if (batch.messages.length === 0) return;
      const decoded: ConsumedRecord<T>[] = [];
      const dead = [];
      for (const message of batch.messages) {
        try {
          const { schemaId, value } = await registry.decode<T>(message.value);
          decoded.push({
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            key: message.key?.toString() ?? null,
            schemaId,
            timestamp: message.timestamp,
            headers: message.headers ?? {},
            value,
          });
        } catch (error) {
          if (!(error instanceof UndecodableError)) throw error; // registry down: retry the batch
          log.warn({ topic: batch.topic, partition: batch.partition, offset: message.offset, reason: error.message }, 'record to DLQ');
          dead.push(toDlqMessage({ topic: batch.topic, partition: batch.partition, message }, error, stage));
        }
      }
      for (const messages of chunkMessages(dead)) await dlq.send({ topic: dlqTopicOf(batch.topic), messages, acks: -1 });
      if (decoded.length > 0) await options.handle(decoded);
      // resolve moves the fetch position; the commit makes it survive a restart
      resolveOffset(batch.lastOffset());
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      // the batch's own commit: consumer.commitOffsets is silently skipped once a stop has begun, which would
      // repeat this batch after a SIGTERM
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
      await heartbeat();
    },
  });

  return {
    joined,
    async stop() {
      await consumer.disconnect(); // waits for the batch in flight, which commits before returning
      await dlq.disconnect();
    },
  };
}
