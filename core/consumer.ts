/**
 * Typed Avro consumer with a dead-letter queue. Each fetched batch is decoded; what cannot be
 * decoded goes to `<topic>.dlq` with the reason and its origin in headers; the decoded records
 * are handed to `handle`; only then are the offsets committed (last handled + 1). A crash
 * therefore repeats at most the batch in flight and never skips one. `stop()` lets the batch in
 * flight finish and commit before it disconnects.
 */
import type { EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { sendDeadLetters } from './dead-letters.ts';
import { decodeBatch, type ConsumedRecord } from './decode.ts';
import { producerDefaults } from './kafka.ts';
import type { Logger } from './logger.ts';
import type { Registry } from './schema-registry.ts';
import { commitThroughBatch, groupConsumer, nextOffset } from './runtime.ts';

export type { ConsumedRecord };

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
  const { kafka, groupId, topics, readUncommitted, log } = options;
  const { consumer, joined, subscribe } = groupConsumer(kafka, {
    groupId,
    topics,
    fromBeginning: options.fromBeginning ?? false,
    readUncommitted,
    log,
  });
  const dlq: Producer = kafka.producer({ ...producerDefaults, idempotent: true });
  await Promise.all([consumer.connect(), dlq.connect()]);
  await subscribe();
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: (payload) => consumeBatch(options, dlq, payload),
  });

  return {
    joined,
    async stop() {
      await consumer.disconnect(); // waits for the batch in flight, which commits before returning
      await dlq.disconnect();
    },
  };
}

/** Decode, dead-letter, handle, commit: one fetched batch. */
async function consumeBatch<T>(
  options: AvroConsumerOptions<T>,
  dlq: Producer,
  payload: EachBatchPayload,
): Promise<void> {
  const { batch, heartbeat, resolveOffset } = payload;
  if (batch.messages.length === 0) return;
  const { records, dead } = await decodeBatch<T>(options.registry, batch.topic, batch.partition, batch.messages);
  await sendDeadLetters(dlq, dead, options.stage, options.log);
  if (records.length > 0) await options.handle(records);
  // resolve moves the fetch position; the commit makes it survive a restart
  resolveOffset(batch.lastOffset());
  await commitThroughBatch(payload, nextOffset(batch.lastOffset()));
  await heartbeat();
}
