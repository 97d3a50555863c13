/**
 * Paging through a topic for people: a record's payload decoded when it can be (else hex, capped),
 * and pages that go forward with a cursor of next offsets, each stopping after a bounded scan so a
 * filter that matches little still answers quickly (with a cursor to go on from).
 */
import type { Kafka } from 'kafkajs';
import { errorKind } from './errors.ts';
import type { Registry } from './schema-registry.ts';
import { readRange, type Bounds, type RangeRecord } from './topic-range.ts';

export class PageQueryError extends errorKind('PageQueryError', { code: 'invalid_request', status: 400 }) {}

/** Bytes of an undecodable payload shown as hex. */
export const HEX_CAP_BYTES = 1024;
/** Records examined per page at most, however few of them match. */
export const SCAN_CAP = 20_000;

export type Payload =
  | { encoding: 'avro'; schema_id: number; value: unknown }
  | { encoding: 'hex'; bytes: number; hex: string; truncated: boolean };

/** Who is looking: a tenant sees the records whose payload names it; an operator sees all. */
export type Viewer = { tenantId: string } | { operator: true };

/** The payload as JSON, and the tenant it names (null when it does not decode or names none). */
export async function decodePayload(
  registry: Registry,
  bytes: Buffer | null,
): Promise<{ payload: Payload; tenantId: string | null }> {
  try {
    const decoded = await registry.decode<{ tenant_id?: unknown }>(bytes);
    const value: unknown = JSON.parse(JSON.stringify(decoded.value));
    const tenantId = typeof decoded.value.tenant_id === 'string' ? decoded.value.tenant_id : null;
    return { payload: { encoding: 'avro', schema_id: decoded.schemaId, value }, tenantId };
  } catch {
    const raw = bytes ?? Buffer.alloc(0);
    const hex = raw.subarray(0, HEX_CAP_BYTES).toString('hex');
    return {
      payload: { encoding: 'hex', bytes: raw.length, hex, truncated: raw.length > HEX_CAP_BYTES },
      tenantId: null,
    };
  }
}

/** Whether the viewer may see a record naming `tenantId`: a record naming no tenant is for operators only. */
export const mayView = (viewer: Viewer, tenantId: string | null): boolean =>
  !('tenantId' in viewer) || tenantId === viewer.tenantId;

/** `p:o[,p:o...]`: the next offset of each partition, as a page hands it back. */
export function parseCursor(cursor: string): Map<number, bigint> {
  if (!/^\d+:\d+(,\d+:\d+)*$/.test(cursor))
    throw new PageQueryError('cursor must be partition:offset pairs, as next_cursor gives them');
  return new Map(cursor.split(',').map((pair) => [Number(pair.split(':')[0]), BigInt(pair.split(':')[1]!)]));
}

export interface Page<T> {
  items: T[];
  /** where the next page starts (`p:o,...`), or null when the range is read to its end */
  next_cursor: string | null;
  /** records examined for this page */
  scanned: number;
}

/**
 * Up to `limit` views of the records in `bounds` (`view` returns undefined to leave one out).
 *
 * @example
 * ```ts
 * const page = await readPage(kafka, topic, bounds, async (r) => r.message.key?.toString(), 50);
 * ```
 */
export async function readPage<T>(
  kafka: Kafka,
  topic: string,
  bounds: Bounds,
  view: (record: RangeRecord) => Promise<T | undefined>,
  limit: number,
): Promise<Page<T>> {
  const items: T[] = [];
  let scanned = 0;
  const next = await readRange(kafka, topic, bounds, async (record) => {
    scanned += 1;
    const item = await view(record);
    if (item !== undefined) items.push(item);
    return items.length < limit && scanned < SCAN_CAP;
  });
  const more = [...bounds].some(([p, b]) => next.get(p)! < b.until);
  return { items, next_cursor: more ? [...next].map(([p, o]) => `${p}:${o}`).join(',') : null, scanned };
}
