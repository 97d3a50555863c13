/**
 * From fetched Kafka messages to table rows: decode (core/decode.ts, the one consume path), map the
 * columns, keep the latest record per key. What cannot be decoded or mapped is a dead letter.
 */
import type { KafkaMessage } from 'kafkajs';
import { decodeBatch, type ConsumedRecord } from '../../../core/decode.ts';
import type { DeadLetter } from '../../../core/dlq.ts';
import type { Registry } from '../../../core/schema-registry.ts';
import type { Cell, RecordMeta, ResolvedSinkSpec } from './spec.ts';
import type { PreparedRow } from './writer.ts';
import { errorKind } from '../../../core/errors.ts';

/** A record the sink cannot write: the DLQ's business. */
export type DeadRecord = DeadLetter;

/** A column function returned something the target cannot store, or threw. */
export class ColumnMappingError extends errorKind('ColumnMappingError', { code: 'column_mapping' }) {}

export async function prepareRows<T>(
  spec: ResolvedSinkSpec<T>,
  registry: Registry,
  topic: string,
  partition: number,
  messages: readonly KafkaMessage[],
): Promise<{ rows: PreparedRow[]; dead: DeadRecord[] }> {
  const keyIndexes = spec.key.map((column) => spec.columnNames.indexOf(column));
  const latest = new Map<string, PreparedRow>();
  // one promise per batch, not per record (decodeBatch waits only for a schema it has not seen)
  const { records, sources, dead } = await decodeBatch<T>(registry, topic, partition, messages);
  const undecodable = dead.length;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    try {
      const cells = cellsOf(spec, record);
      const id = identityOf(spec, keyIndexes, cells);
      latest.delete(id); // re-inserted below: the map keeps offset order
      latest.set(id, { offset: BigInt(record.offset), cells, source: sources[i]! });
    } catch (error) {
      const reason =
        error instanceof ColumnMappingError
          ? error
          : new ColumnMappingError((error as Error).message, { cause: error });
      dead.push({ source: sources[i]!, error: reason });
    }
  }
  // dead letters in offset order, the undecodable ones among those a column refused
  if (undecodable > 0 && dead.length > undecodable)
    dead.sort((a, b) => offsetOrder(a.source.message, b.source.message));
  return { rows: [...latest.values()], dead };
}

const offsetOrder = (a: { offset: string }, b: { offset: string }) => {
  const d = BigInt(a.offset) - BigInt(b.offset);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
};

/**
 * The row's identity as one string: each key cell's text behind its length, so no two different
 * keys meet ('a:b','c' vs 'a','b:c' are '3:a:b:1:c' and '1:a:3:b:c'). Joined, not concatenated: a
 * flat string hashes without being copied first.
 */
function identityOf<T>(spec: ResolvedSinkSpec<T>, keyIndexes: readonly number[], cells: readonly unknown[]): string {
  const parts: (string | number)[] = [];
  for (let i = 0; i < keyIndexes.length; i++) {
    const cell = cells[keyIndexes[i]!];
    if (cell === null) throw new ColumnMappingError(`key column ${spec.key[i]} is null`);
    const text = String(cell);
    parts.push(text.length, text);
  }
  return parts.join(':');
}

/** The record's cells in the spec's column order; ColumnMappingError for one the target cannot store. */
function cellsOf<T>(spec: ResolvedSinkSpec<T>, record: ConsumedRecord<T>) {
  const meta: RecordMeta = record; // where the record came from (its value too: no copy per record)
  const { columnNames, columns } = spec;
  const cells = new Array<Cell>(columnNames.length);
  for (let i = 0; i < columnNames.length; i++) {
    const column = columnNames[i]!;
    const cell = columns[column]!(record.value, meta);
    if (cell === undefined) throw new ColumnMappingError(`column ${column}: no value`);
    if (typeof cell === 'number' && !Number.isFinite(cell))
      throw new ColumnMappingError(`column ${column}: ${cell} is not a finite number`);
    cells[i] = cell;
  }
  return cells;
}
