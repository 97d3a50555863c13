/**
 * Browsing a topic's dead letters (`<topic>.dlq`): each record with every header, its error and
 * origin, its payload decoded when it can be (else hex, capped), and whether it was redriven.
 * Pages go forward through the partitions with a cursor of next offsets; a filter that matches
 * little stops after a bounded scan and hands back a cursor to go on from.
 */
import type { Kafka } from 'kafkajs';
import { readDlqContext, headerText } from './dlq.ts';
import type { Registry } from './schema-registry.ts';
import { decodePayload, mayView, parseCursor, readPage, type Payload, type Viewer } from './topic-pages.ts';
import { topicOffsets, wholeTopic, type Bounds, type RangeRecord } from './topic-range.ts';
import { dlqTopicOf } from '../schemas/topic-spec.ts';

export interface DeadLetterFilter {
  /** epoch ms: dead letters written at or after */
  since?: number;
  /** epoch ms: dead letters written before */
  until?: number;
  errorClass?: string;
  sourcePartition?: number;
}

export interface Redrive {
  by: string;
  at: string;
  target: { topic: string; partition: number; offset: string };
}

export interface DeadLetterView {
  /** `<partition>:<offset>` in the DLQ topic */
  id: string;
  partition: number;
  offset: string;
  /** when the record was written to the DLQ (the Kafka record's time) */
  timestamp: string;
  key: string | null;
  headers: Record<string, string>;
  error: { class: string; message: string; stage: string };
  source: { topic: string; partition: number; offset: string };
  tenant_id: string | null;
  payload: Payload;
  redrive: Redrive | null;
}

export interface DeadLetterPage {
  dead_letters: DeadLetterView[];
  /** where the next page starts (`p:o,...`), or null when the range is read to its end */
  next_cursor: string | null;
  /** records examined for this page */
  scanned: number;
}

/** The part of the DLQ a filter covers: from the cursor or `since`, up to `until` or the end now. */
export async function deadLetterBounds(
  kafka: Kafka,
  topic: string,
  filter: DeadLetterFilter,
  cursor?: Map<number, bigint>,
): Promise<Bounds> {
  const dlq = dlqTopicOf(topic);
  const whole = await wholeTopic(kafka, dlq);
  const ends =
    filter.until === undefined
      ? new Map([...whole].map(([p, b]) => [p, b.until]))
      : await topicOffsets(kafka, dlq, filter.until);
  const starts =
    cursor ??
    (filter.since === undefined
      ? new Map([...whole].map(([p, b]) => [p, b.from]))
      : await topicOffsets(kafka, dlq, filter.since));
  return new Map([...ends].map(([p, until]) => [p, { from: starts.get(p) ?? until, until }]));
}

/** The view of one DLQ record for `viewer`, or undefined when it is not theirs or fails the filter. */
export async function viewDeadLetter(
  registry: Registry,
  record: RangeRecord,
  filter: DeadLetterFilter,
  viewer: Viewer,
  redrives: ReadonlyMap<string, Redrive>,
  dlqTopic: string,
): Promise<DeadLetterView | undefined> {
  const { message, partition, offset } = record;
  let context;
  try {
    context = readDlqContext(message.headers);
  } catch {
    return undefined; // not written by a dead-letter path: nothing to show or redrive
  }
  if (filter.errorClass !== undefined && context.errorClass !== filter.errorClass) return undefined;
  if (filter.sourcePartition !== undefined && context.sourcePartition !== filter.sourcePartition) return undefined;
  const { payload, tenantId } = await decodePayload(registry, message.value);
  if (!mayView(viewer, tenantId)) return undefined;
  const id = `${partition}:${offset}`;
  return {
    id,
    partition,
    offset: String(offset),
    timestamp: new Date(Number(message.timestamp)).toISOString(),
    key: message.key?.toString() ?? null,
    headers: headerText(message.headers),
    error: { class: context.errorClass, message: context.errorMessage, stage: context.stage },
    source: { topic: context.sourceTopic, partition: context.sourcePartition, offset: context.sourceOffset },
    tenant_id: tenantId,
    payload,
    redrive: redrives.get(deadLetterKey(dlqTopic, id)) ?? null,
  };
}

/** The key of a dead letter in the redrive log: `<dlq topic>:<partition>:<offset>`. */
export const deadLetterKey = (dlqTopic: string, id: string): string => `${dlqTopic}:${id}`;

export interface ListOptions {
  kafka: Kafka;
  registry: Registry;
  /** the source topic, whose `<topic>.dlq` is read */
  topic: string;
  viewer: Viewer;
  filter: DeadLetterFilter;
  cursor?: string;
  limit: number;
  redrives: ReadonlyMap<string, Redrive>;
}

/**
 * One page of dead letters the viewer may see, oldest first within each partition.
 *
 * @example
 * ```ts
 * const page = await listDeadLetters({ kafka, registry, topic: 'market.quotes.raw', viewer: { operator: true },
 *   filter: { errorClass: 'RecordInvalidError' }, limit: 100, redrives: await readRedrives(kafka, registry) });
 * ```
 */
export async function listDeadLetters(options: ListOptions): Promise<DeadLetterPage> {
  const { kafka, registry, topic, viewer, filter, limit, redrives } = options;
  const dlq = dlqTopicOf(topic);
  const bounds = await deadLetterBounds(kafka, topic, filter, options.cursor ? parseCursor(options.cursor) : undefined);
  const page = await readPage(
    kafka,
    dlq,
    bounds,
    (record) => viewDeadLetter(registry, record, filter, viewer, redrives, dlq),
    limit,
  );
  return { dead_letters: page.items, next_cursor: page.next_cursor, scanned: page.scanned };
}
