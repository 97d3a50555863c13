/**
 * Browsing a topic's records for people: by partition and offset, from a time, the newest, or the
 * oldest, optionally only one key; each record decoded (or hex), with its headers. A tenant sees
 * only the records that name it; an operator sees all.
 */
import type { Kafka } from 'kafkajs';
import { headerText } from './dlq.ts';
import type { Registry } from './schema-registry.ts';
import {
  decodePayload,
  mayView,
  PageQueryError,
  parseCursor,
  readPage,
  type Page,
  type Payload,
  type Viewer,
} from './topic-pages.ts';
import { topicOffsets, wholeTopic, type Bounds } from './topic-range.ts';

/** Where a browse starts when no cursor is given. */
export type Position =
  { kind: 'newest' } | { kind: 'oldest' } | { kind: 'time'; ms: number } | { kind: 'offset'; offset: bigint };

export interface BrowseQuery {
  position: Position;
  /** only this partition (required with an offset) */
  partition?: number;
  /** only records with this key */
  key?: string;
  cursor?: string;
  limit: number;
}

export interface RecordView {
  partition: number;
  offset: string;
  timestamp: string;
  key: string | null;
  headers: Record<string, string>;
  payload: Payload;
}

async function bounds(kafka: Kafka, topic: string, query: BrowseQuery): Promise<Bounds> {
  const whole = await wholeTopic(kafka, topic);
  const [starts, ends] = [
    new Map([...whole].map(([p, b]) => [p, b.from])),
    new Map([...whole].map(([p, b]) => [p, b.until])),
  ];
  if (query.partition !== undefined && !ends.has(query.partition))
    throw new PageQueryError(`topic ${topic} has no partition ${query.partition} (it has ${ends.size})`);
  const chosen = [...ends].filter(([p]) => query.partition === undefined || p === query.partition);
  const { position } = query;
  let from: Map<number, bigint>;
  if (query.cursor) from = parseCursor(query.cursor);
  else if (position.kind === 'time') from = await topicOffsets(kafka, topic, position.ms);
  else if (position.kind === 'offset') {
    if (query.partition === undefined) throw new PageQueryError('an offset needs a partition');
    from = new Map([[query.partition, position.offset]]);
  } else if (position.kind === 'newest')
    // the last `limit` offsets of each partition (transaction markers take some: a page may hold fewer)
    from = new Map(chosen.map(([p, end]) => [p, end - BigInt(query.limit)]));
  else from = starts;
  return new Map(
    chosen.map(([p, until]) => {
      const low = starts.get(p) ?? 0n;
      const start = from.get(p) ?? until;
      return [p, { from: start < low ? low : start > until ? until : start, until }];
    }),
  );
}

/**
 * A page of a topic's records the viewer may see.
 *
 * @example
 * ```ts
 * const page = await browseTopic(kafka, registry, 'market.quotes.raw', { tenantId: 'acme' },
 *   { position: { kind: 'newest' }, key: 'acme:IBM', limit: 50 });
 * ```
 */
export async function browseTopic(
  kafka: Kafka,
  registry: Registry,
  topic: string,
  viewer: Viewer,
  query: BrowseQuery,
): Promise<Page<RecordView>> {
  return readPage(
    kafka,
    topic,
    await bounds(kafka, topic, query),
    async ({ partition, offset, message }) => {
      const key = message.key?.toString() ?? null;
      if (query.key !== undefined && key !== query.key) return undefined;
      const { payload, tenantId } = await decodePayload(registry, message.value);
      if (!mayView(viewer, tenantId)) return undefined;
      return {
        partition,
        offset: String(offset),
        timestamp: new Date(Number(message.timestamp)).toISOString(),
        key,
        headers: headerText(message.headers),
        payload,
      };
    },
    query.limit,
  );
}
