/**
 * The rows of a training file, one at a time, every cell as text (an empty one is missing): CSV and
 * JSON lines as the uploads read them (connectors/sources/uploads/rows.ts: a refused row comes with
 * its number and reason), Parquet a row group (or a window of a large one) at a time with hyparquet. A Parquet value becomes
 * the text the same value would have in CSV: numbers as JavaScript writes them, booleans as
 * true/false, times as ISO 8601 (UTC), null as missing, lists and structs as JSON.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { readHeader, readRows, type Row } from '../uploads/rows.ts';

export type TrainingFormat = 'csv' | 'jsonl' | 'parquet';
export type { Row };

/** Parquet cells decoded into row objects at a time, at most (a row group, or a window of one). */
const WINDOW_CELLS = 2_000_000;

/** Parquet's 4-byte magic, at the start and at the end of every Parquet file. */
export const PARQUET_MAGIC = 'PAR1';

function parquetCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
}

/** The column names of a Parquet file (its top-level fields). */
export async function parquetColumns(file: string): Promise<string[]> {
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(file));
  return parquetSchema(metadata).children.map((c) => c.element.name);
}

async function* parquetRows(file: string): AsyncGenerator<Row> {
  const buffer = await asyncBufferFromFile(file);
  const metadata = await parquetMetadataAsync(buffer);
  const columns = Math.max(1, parquetSchema(metadata).children.length);
  // a highly compressed group of millions of rows would not fit in memory as objects: a group
  // past WINDOW_CELLS is read in windows (each one decompresses the group's pages again, so no smaller)
  const window = Math.max(1000, Math.floor(WINDOW_CELLS / columns));
  let groupStart = 0;
  for (const group of metadata.row_groups) {
    const groupEnd = groupStart + Number(group.num_rows);
    for (let start = groupStart; start < groupEnd; start += window) {
      const end = Math.min(groupEnd, start + window);
      const objects = await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end, compressors });
      for (const [i, object] of objects.entries()) {
        yield {
          row: start + i + 1,
          values: Object.fromEntries(Object.entries(object).map(([name, v]) => [name, parquetCell(v)])),
        };
      }
      // decoding a window and reading its rows hold the event loop: let the API's other requests through between two
      await nextTurn();
    }
    groupStart = groupEnd;
  }
}

/** Every row of the file in order; CSV's header is not a row. */
export function fileRows(file: string, format: TrainingFormat, delimiter: string | null): AsyncGenerator<Row> {
  return format === 'parquet' ? parquetRows(file) : readRows(file, format, delimiter ?? ',');
}

/** The columns the file declares (a CSV header, a Parquet schema); JSON lines declare none: their keys are found by reading. */
export async function declaredColumns(
  file: string,
  format: TrainingFormat,
  delimiter: string | null,
): Promise<string[] | undefined> {
  if (format === 'csv') return readHeader(file, delimiter ?? ',');
  if (format === 'parquet') return parquetColumns(file);
  return undefined;
}
