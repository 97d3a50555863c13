/**
 * Browsing a topic's dead letters (`<topic>.dlq`): each record with every header, its error and
 * origin, its payload decoded when it can be (else hex, capped), and whether it was redriven.
 * Pages go forward through the partitions with a cursor of next offsets; a filter that matches
 * little stops after a bounded scan and hands back a cursor to go on from.
 */
import type { Kafka } from 'kafkajs';
import { readDlqContext, headerText } from './dlq.ts';
import { errorKind } from './errors.ts';
import type { Registry } from './schema-registry.ts';
import { readRange, topicOffsets, topicStarts, type Bounds, type RangeRecord } from './topic-range.ts';
import { dlqTopicOf } from '../schemas/topic-spec.ts';

export class DeadLetterQueryError extends errorKind('DeadLetterQueryError', { code: 'invalid_request', status: 400 }) {}

/** Bytes of an undecodable payload shown as hex. */
export const HEX_CAP_BYTES = 1024;
/** Records examined per page at most, however few of them match. */
export const SCAN_CAP = 20_000;

export interface DeadLetterFilter {
  /** epoch ms: dead letters written at or after */
  since?: number;
  /** epoch ms: dead letters written before */
  until?: number;
  errorClass?: string;
  sourcePartition?: number;
}

/** Who is looking: a tenant sees the dead letters whose payload names it; an operator sees all. */
export type Viewer = { tenantId: string } | { operator: true };

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
  payload:
    | { encoding: 'avro'; schema_id: number; value: unknown }
    | { encoding: 'hex'; bytes: number; hex: string; truncated: boolean };
  redrive: Redrive | null;
}

export interface DeadLetterPage {
  dead_letters: DeadLetterView[];
  /** where the next page starts (`p:o,...`), or null when the range is read to its end */
  next_cursor: string | null;
  /** records examined for this page */
  scanned: number;
}

/** `p:o[,p:o...]`: the next offset of each partition, as a page hands it back. */
export function parseCursor(cursor: string): Map<number, bigint> {
  if (!/^\d+:\d+(,\d+:\d+)*$/.test(cursor))
    throw new DeadLetterQueryError('cursor must be partition:offset pairs, as next_cursor gives them');
  return new Map(
    cursor
      .split(',')
      .map((pair) => pair.split(':').map(Number) as [number, number])
      .map(([p, o]) => [p, BigInt(o)]),
  );
}

const formatCursor = (next: Map<number, bigint>): string => [...next].map(([p, o]) => `${p}:${o}`).join(',');

/** The part of the DLQ a filter covers: from the cursor or `since`, up to `until` or the end now. */
export async function deadLetterBounds(
  kafka: Kafka,
  topic: string,
  filter: DeadLetterFilter,
  cursor?: Map<number, bigint>,
): Promise<Bounds> {
  const dlq = dlqTopicOf(topic);
  const ends =
    filter.until === undefined ? await topicOffsets(kafka, dlq) : await topicOffsets(kafka, dlq, filter.until);
  const starts =
    cursor ??
    (filter.since === undefined ? await topicStarts(kafka, dlq) : await topicOffsets(kafka, dlq, filter.since));
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
  let payload: DeadLetterView['payload'];
  let tenantId: string | null = null;
  try {
    const decoded = await registry.decode<{ tenant_id?: unknown }>(message.value);
    payload = { encoding: 'avro', schema_id: decoded.schemaId, value: JSON.parse(JSON.stringify(decoded.value)) };
    if (typeof decoded.value.tenant_id === 'string') tenantId = decoded.value.tenant_id;
  } catch {
    const bytes = message.value ?? Buffer.alloc(0);
    payload = {
      encoding: 'hex',
      bytes: bytes.length,
      hex: bytes.subarray(0, HEX_CAP_BYTES).toString('hex'),
      truncated: bytes.length > HEX_CAP_BYTES,
    };
  }
  // a payload that names no tenant can belong to anyone: only operators see it
  if ('tenantId' in viewer && tenantId !== viewer.tenantId) return undefined;
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
  const found: DeadLetterView[] = [];
  let scanned = 0;
  const next = await readRange(kafka, dlq, bounds, async (record) => {
    scanned += 1;
    const view = await viewDeadLetter(registry, record, filter, viewer, redrives, dlq);
    if (view) found.push(view);
    return found.length < limit && scanned < SCAN_CAP;
  });
  const more = [...bounds].some(([p, b]) => next.get(p)! < b.until);
  return { dead_letters: found, next_cursor: more ? formatCursor(next) : null, scanned };
}
