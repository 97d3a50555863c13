/**
 * The kafkajs baselines (bench/flights.ts, bench/runtime.ts): for the processor runtime, a plain loop
 * that fetches a batch and sends its bytes on, with no decoding and no transactions, from the
 * beginning of `input` until `count` records are copied; for a sink, the same fetching with nothing
 * done to the records (the client's bound on what any sink on kafkajs can read).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { producerDefaults } from '../core/kafka.ts';
import { eventually } from '../testkit/helpers.ts';

export interface RawLoopOptions {
  kafka: Kafka;
  input: string;
  output: string;
  count: number;
  /** Records per produce request: a whole fetched batch can exceed the broker's 1 MB message limit. */
  sendSize: number;
  timeoutMs: number;
}

/** Milliseconds from the consumer's start until `count` records were copied. */
export async function rawLoop({ kafka, input, output, count, sendSize, timeoutMs }: RawLoopOptions): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-raw-${randomBytes(4).toString('hex')}` });
  const producer = kafka.producer({ ...producerDefaults, idempotent: true });
  await Promise.all([consumer.connect(), producer.connect()]);
  let copied = 0;
  await consumer.subscribe({ topic: input, fromBeginning: true });
  const started = performance.now();
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (let i = 0; i < batch.messages.length; i += sendSize) {
        const messages = batch.messages
          .slice(i, i + sendSize)
          .map((m: KafkaMessage) => ({ key: m.key, value: m.value }));
        await producer.send({ topic: output, acks: -1, messages });
      }
      copied += batch.messages.length;
    },
  });
  await eventually('the raw loop to copy everything', () => (copied >= count ? true : undefined), timeoutMs);
  const ms = performance.now() - started;
  await Promise.all([consumer.disconnect(), producer.disconnect()]);
  return ms;
}

/** Milliseconds from the consumer's start until `count` records of `input` were fetched (eachBatch, no decode). */
export async function consumeOnly({
  kafka,
  input,
  count,
  timeoutMs,
  partitions,
}: Pick<RawLoopOptions, 'kafka' | 'input' | 'count' | 'timeoutMs'> & { partitions: number }): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-consume-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  let fetched = 0;
  await consumer.subscribe({ topic: input, fromBeginning: true });
  const started = performance.now();
  await consumer.run({
    // every partition at once, as the sinks read (kafkajs' default is one at a time)
    partitionsConsumedConcurrently: partitions,
    eachBatch: async ({ batch }) => {
      fetched += batch.messages.length;
    },
  });
  await eventually('consume-only to fetch everything', () => (fetched >= count ? true : undefined), timeoutMs);
  const ms = performance.now() - started;
  await consumer.disconnect();
  return ms;
}
