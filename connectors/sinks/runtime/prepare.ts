/**
 * From fetched Kafka messages to table rows: decode (Avro via the registry), map the columns, keep
 * the latest record per key. What cannot be decoded or mapped is a dead record for the DLQ.
 */
import type { KafkaMessage } from 'kafkajs';
import type { DlqSource } from '../../../core/dlq.ts';
import { UndecodableError, type Registry } from '../../../core/schema-registry.ts';
import type { ResolvedSinkSpec, RecordMeta } from './spec.ts';
import type { PreparedRow } from './writer.ts';
import { MillraceError } from '../../../core/errors.ts';

export interface DeadRecord {
  source: DlqSource;
  error: Error;
}

/** A column function returned something the target cannot store, or threw. */
export class ColumnMappingError extends MillraceError {
  override name = 'ColumnMappingError';
  override readonly code = 'column_mapping';
}

export async function prepareRows<T>(
  spec: ResolvedSinkSpec<T>,
  registry: Registry,
  topic: string,
  partition: number,
  messages: readonly KafkaMessage[],
): Promise<{ rows: PreparedRow[]; dead: DeadRecord[] }> {
  const keyIndex = spec.columnNames.indexOf(spec.key);
  const latest = new Map<string, PreparedRow>();
  const dead: DeadRecord[] = [];
  for (const message of messages) {
    const source: DlqSource = { topic, partition, message };
    let decoded: { schemaId: number; value: T };
    try {
      decoded = await registry.decode<T>(message.value);
    } catch (error) {
      if (!(error instanceof UndecodableError)) throw error; // the registry is unreachable: retry the batch
      dead.push({ source, error });
      continue;
    }
    const meta: RecordMeta = {
      topic,
      partition,
      offset: message.offset,
      key: message.key?.toString() ?? null,
      timestamp: message.timestamp,
      headers: message.headers ?? {},
      schemaId: decoded.schemaId,
    };
    try {
      const cells = spec.columnNames.map((column) => {
        const cell = spec.columns[column]!(decoded.value, meta);
        if (cell === undefined) throw new ColumnMappingError(`column ${column}: no value`);
        if (typeof cell === 'number' && !Number.isFinite(cell)) throw new ColumnMappingError(`column ${column}: ${cell} is not a finite number`);
        return cell;
      });
      const key = cells[keyIndex];
      if (key === null) throw new ColumnMappingError(`key column ${spec.key} is null`);
      const id = String(key);
      latest.delete(id); // re-inserted below: the map keeps offset order
      latest.set(id, { offset: BigInt(message.offset), cells, source });
    } catch (error) {
      const reason = error instanceof ColumnMappingError ? error : new ColumnMappingError((error as Error).message, { cause: error });
      dead.push({ source, error: reason });
    }
  }
  return { rows: [...latest.values()], dead };
}
