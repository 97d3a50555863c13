/** Column maps the sinks share: fields copied as they are, times as DateTime, and the record's Kafka position. */
import type { Cell, ColumnMap, RecordMeta } from './runtime/spec.ts';

/**
 * Columns named as record fields whose values go in unchanged.
 *
 * @example
 * columns: { ...copied<QuoteRecord>('id', 'tenant_id', 'symbol', 'close'), ts: (q) => new Date(q.ts) }
 */
export function copied<T>(...fields: (keyof T & string)[]): ColumnMap<T> {
  return Object.fromEntries(fields.map((field) => [field, (value: T) => value[field] as Cell])) as ColumnMap<T>;
}

/** `event_time` (epoch milliseconds in the record) as a DateTime. */
export const eventTime = { event_time: (value: { event_time: number }) => new Date(value.event_time) };

/** Where a row came from: a Postgres sink resumes from these (see the sinks' README). */
export const sourcePosition = {
  source_partition: (_: unknown, meta: RecordMeta) => meta.partition,
  source_offset: (_: unknown, meta: RecordMeta) => meta.offset,
};
