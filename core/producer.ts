/**
 * Typed Avro producer: values are validated and encoded against the newest schema of the topic's
 * subject (TopicNameStrategy); a value that does not fit fails before anything is sent, with the
 * offending fields named. Idempotent producer, acks from all in-sync replicas.
 */
import type { IHeaders, Kafka, Message, Producer, RecordMetadata } from 'kafkajs';
import { catalogueKey } from './catalogue.ts';
import { producerDefaults } from './kafka.ts';
import { valueSubjectOf } from '../schemas/topic-spec.ts';
import type { Registry } from './schema-registry.ts';

export interface OutgoingRecord<T> {
  /** Defaults to the key the catalogue declares for the topic (core/catalogue.ts `catalogueKey`), else the record's `id`. */
  key?: string;
  value: T;
  headers?: IHeaders;
}

/**
 * Sends typed records as Avro: validated and encoded against the topic's newest registered schema.
 *
 * @example
 * const producer = new AvroProducer(createKafka(), new Registry());
 * await producer.connect();
 * await producer.send('market.quotes.raw', [{ value: quote }]); // keyed as the catalogue declares
 * await producer.disconnect();
 */
export class AvroProducer {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly registry: Registry,
  ) {
    this.producer = kafka.producer({ ...producerDefaults, idempotent: true, maxInFlightRequests: 5 });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  /** Encodes one record for `topic`; throws RecordInvalidError naming the fields that do not fit. */
  async prepare<T extends { id: string }>(topic: string, record: OutgoingRecord<T>): Promise<Message> {
    return {
      key: record.key ?? catalogueKey(topic, record.value),
      value: await this.registry.encode(valueSubjectOf(topic), record.value),
      headers: record.headers,
    };
  }

  sendPrepared(topic: string, messages: Message[]): Promise<RecordMetadata[]> {
    return this.producer.send({ topic, messages, acks: -1 });
  }

  /** All or nothing: if any value is invalid, nothing is sent. */
  async send<T extends { id: string }>(
    topic: string,
    records: readonly OutgoingRecord<T>[],
  ): Promise<RecordMetadata[]> {
    const messages = await Promise.all(records.map((r) => this.prepare(topic, r)));
    return this.sendPrepared(topic, messages);
  }
}
