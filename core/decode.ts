/**
 * The decode step of the one consume path: a fetched Kafka message becomes a `ConsumedRecord<T>`
 * (Avro, Confluent wire format, schema from the registry) or, when its bytes are no record of any
 * registered schema, a dead letter. A registry that cannot be reached is not the record's fault:
 * that error is thrown, and the caller retries the whole batch. Used by `millrace consume`
 * (core/consumer.ts), the processor runtime and the sink runtime alike.
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { DeadLetter, DlqSource } from './dlq.ts';
import { UndecodableError, type Registry } from './schema-registry.ts';

/** A decoded record and where it came from. */
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

/** One message decoded: the record (with its source, should it die later), or the dead letter. */
export type Decoded<T> =
  { record: ConsumedRecord<T>; source: DlqSource; dead?: undefined } | { dead: DeadLetter; record?: undefined };

/**
 * Decodes one message of `topic`/`partition`.
 *
 * @example
 * ```ts
 * const decoded = await decodeMessage<Flight>(registry, batch.topic, batch.partition, message);
 * if (decoded.dead) deadLetters.push(decoded.dead);
 * else records.push(decoded.record);
 * ```
 */
export async function decodeMessage<T>(
  registry: DecodingRegistry,
  topic: string,
  partition: number,
  message: KafkaMessage,
): Promise<Decoded<T>> {
  try {
    return decodedOf(topic, partition, message, await registry.decode<T>(message.value));
  } catch (error) {
    return deadOf(topic, partition, message, error);
  }
}

/** What decoding needs of the registry; `decodeKnown` (optional) decodes without waiting. */
export type DecodingRegistry = Pick<Registry, 'decode'> & Partial<Pick<Registry, 'decodeKnown'>>;

function decodedOf<T>(
  topic: string,
  partition: number,
  message: KafkaMessage,
  { schemaId, value }: { schemaId: number; value: T },
): Decoded<T> {
  const record: ConsumedRecord<T> = {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    schemaId,
    timestamp: message.timestamp,
    headers: message.headers ?? {},
    value,
  };
  return { record, source: { topic, partition, message } };
}

function deadOf<T>(topic: string, partition: number, message: KafkaMessage, error: unknown): Decoded<T> {
  if (!(error instanceof UndecodableError)) throw error; // the registry is down: retry the batch
  return { dead: { source: { topic, partition, message }, error } };
}

/** A batch decoded: the records in offset order, each one's source at the same index, the dead letters in order. */
export interface DecodedBatch<T> {
  records: ConsumedRecord<T>[];
  sources: DlqSource[];
  dead: DeadLetter[];
}

/**
 * Decodes the messages of one fetched batch, in order.
 *
 * @example
 * ```ts
 * const { records, dead } = await decodeBatch<Flight>(registry, batch.topic, batch.partition, batch.messages);
 * ```
 */
export async function decodeBatch<T>(
  registry: DecodingRegistry,
  topic: string,
  partition: number,
  messages: readonly KafkaMessage[],
): Promise<DecodedBatch<T>> {
  const batch: DecodedBatch<T> = { records: [], sources: [], dead: [] };
  for (const message of messages) {
    let decoded: Decoded<T>;
    try {
      // without a promise per record where the schema is known (all but the first of a batch, as a rule)
      const known = registry.decodeKnown?.<T>(message.value);
      decoded = known
        ? decodedOf(topic, partition, message, known)
        : await decodeMessage<T>(registry, topic, partition, message);
    } catch (error) {
      decoded = deadOf(topic, partition, message, error);
    }
    if (decoded.dead) {
      batch.dead.push(decoded.dead);
    } else {
      batch.records.push(decoded.record);
      batch.sources.push(decoded.source);
    }
  }
  return batch;
}
