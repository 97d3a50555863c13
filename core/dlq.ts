/**
 * Dead-letter records: the original key, value and headers, plus headers naming what went wrong
 * and where the record came from, so a DLQ can be inspected and replayed (Kafka Connect's
 * errors.deadletterqueue.context.headers, under our own prefix).
 */
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';

export const DLQ_HEADER = {
  errorClass: 'millrace.error.class',
  errorMessage: 'millrace.error.message',
  stage: 'millrace.stage',
  sourceTopic: 'millrace.source.topic',
  sourcePartition: 'millrace.source.partition',
  sourceOffset: 'millrace.source.offset',
  timestamp: 'millrace.dlq.timestamp',
} as const;

export interface DlqSource {
  topic: string;
  partition: number;
  message: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset'>;
}

/** A record that falls out of the stream: where it came from and why (the DLQ headers say both). */
export interface DeadLetter {
  source: DlqSource;
  error: Error;
}

export interface DlqContext {
  errorClass: string;
  errorMessage: string;
  stage: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  timestamp: string;
}

export function toDlqMessage(source: DlqSource, error: Error, stage: string, now = new Date()): Message {
  return {
    key: source.message.key,
    value: source.message.value,
    headers: {
      ...source.message.headers,
      [DLQ_HEADER.errorClass]: error.name,
      [DLQ_HEADER.errorMessage]: error.message,
      [DLQ_HEADER.stage]: stage,
      [DLQ_HEADER.sourceTopic]: source.topic,
      [DLQ_HEADER.sourcePartition]: String(source.partition),
      [DLQ_HEADER.sourceOffset]: source.message.offset,
      [DLQ_HEADER.timestamp]: now.toISOString(),
    },
  };
}

/** Every header as text (a repeated header: its first value). */
export const headerText = (headers: IHeaders | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(Array.isArray(v) ? v[0] : v)]));

/** Reads the context back from a consumed DLQ record's headers. */
export function readDlqContext(headers: IHeaders | undefined): DlqContext {
  const get = (name: string): string => {
    const raw = headers?.[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined) throw new Error(`not a DLQ record: header ${name} missing`);
    return value.toString();
  };
  return {
    errorClass: get(DLQ_HEADER.errorClass),
    errorMessage: get(DLQ_HEADER.errorMessage),
    stage: get(DLQ_HEADER.stage),
    sourceTopic: get(DLQ_HEADER.sourceTopic),
    sourcePartition: Number(get(DLQ_HEADER.sourcePartition)),
    sourceOffset: get(DLQ_HEADER.sourceOffset),
    timestamp: get(DLQ_HEADER.timestamp),
  };
}
