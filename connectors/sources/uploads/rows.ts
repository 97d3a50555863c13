/**
 * Streams the rows of an uploaded file, one at a time, never the whole file in memory. CSV: the
 * first record is the header; a record with another field count, broken quoting, an oversized
 * row or bytes that are not UTF-8 is yielded as a rejection with its row number, and reading goes
 * on. JSON lines: each line one object, refused likewise when it is too large, nested too deeply
 * to write back, or holds a number past the double range.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import type { Format } from './file-shape.ts';
import { errorKind } from '../../../core/errors.ts';

export type Row = { row: number; values: Record<string, string> } | { row: number; error: string };

/**
 * Largest row accepted (its fields' UTF-8 bytes): each row becomes one Kafka record, and the broker
 * refuses records past ~1 MB (message.max.bytes) — one such row used to fail the whole upload.
 */
export const MAX_ROW_BYTES = 900 * 1024;
const TOO_LONG = `the row is longer than ${MAX_ROW_BYTES} bytes`;
/** Past this a record is not even assembled in memory: the parser gives up on it. */
const PARSER_MAX_RECORD_BYTES = 32 * 1024 * 1024;

/** A JSON line that cannot become a row; the message is the row's rejection reason. */
class RowRefusedError extends errorKind('RowRefusedError', { code: 'row_refused', status: 400 }) {}

/** A JSON value as cell text: strings as they are, anything else as JSON. */
function cell(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  try {
    return JSON.stringify(v, (_key, x: unknown) => {
      // JSON.parse reads 1e400 as Infinity, which JSON.stringify would silently write as null
      if (typeof x === 'number' && !Number.isFinite(x))
        throw new RowRefusedError('a number is out of range (beyond ±1.8e308)');
      return x;
    });
  } catch (error) {
    if (error instanceof RowRefusedError) throw error;
    throw new RowRefusedError(`nested too deeply (${(error as Error).message})`); // a RangeError: out of stack
  }
}

/** The header of a CSV file: its first record, names trimmed, blanks named column_<n>. */
export async function readHeader(file: string, delimiter: string): Promise<string[]> {
  const source = createReadStream(file);
  try {
    for await (const record of source.pipe(
      parse({ bom: true, delimiter, to_line: 1, relax_column_count: true, max_record_size: PARSER_MAX_RECORD_BYTES }),
    ) as AsyncIterable<string[]>) {
      return headerNames(record);
    }
    return [];
  } catch {
    return []; // a header that cannot be read shows as no columns; the rows say why
  } finally {
    source.destroy();
  }
}

const headerNames = (record: string[]) => record.map((h, i) => h.trim() || `column_${i + 1}`);

export async function* readRows(file: string, format: Format, delimiter = ','): AsyncGenerator<Row> {
  if (format === 'jsonl') yield* jsonLines(file);
  else yield* csvRows(file, delimiter);
}

async function* csvRows(file: string, delimiter: string): AsyncGenerator<Row> {
  const source = createReadStream(file);
  const parser = source.pipe(
    parse({
      bom: true,
      delimiter,
      // files joined from several sources mix line endings; the first one seen would otherwise be the only one
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_column_count: true,
      skip_records_with_error: true,
      max_record_size: PARSER_MAX_RECORD_BYTES,
      encoding: 'utf8',
    }),
  );
  // skipped records are announced by events; they are queued and yielded in order with the rest
  const skipped: string[] = [];
  parser.on('skip', (error: Error) => {
    const reason = error.message.split(':')[0] ?? error.message;
    // an oversized record is reported chunk after chunk; it is one row
    if (!(reason === 'Max Record Size' && skipped.at(-1) === reason)) skipped.push(reason);
  });
  let header: string[] | undefined;
  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      while (skipped.length > 0) yield { row: ++row, error: `malformed CSV: ${skipped.shift()}` };
      if (!header) {
        header = headerNames(record);
        continue;
      }
      row += 1;
      if (record.some((v) => v.includes('\uFFFD'))) yield { row, error: 'not valid UTF-8' };
      else if (record.reduce((bytes, v) => bytes + Buffer.byteLength(v), 0) > MAX_ROW_BYTES)
        yield { row, error: TOO_LONG };
      else if (record.length !== header.length)
        yield { row, error: `expected ${header.length} fields, got ${record.length}` };
      else yield { row, values: Object.fromEntries(header.map((h, i) => [h, record[i]!])) };
    }
  } finally {
    source.destroy(); // a reader that stops early (a sample) must not leave the file open
  }
  while (skipped.length > 0) yield { row: ++row, error: `malformed CSV: ${skipped.shift()}` };
}

async function* jsonLines(file: string): AsyncGenerator<Row> {
  let row = 0;
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    const text = row === 0 ? line.replace(/^\uFEFF/, '') : line;
    if (text.trim() === '') continue;
    row += 1;
    if (text.includes('\uFFFD')) {
      yield { row, error: 'not valid UTF-8' };
      continue;
    }
    if (Buffer.byteLength(text) > MAX_ROW_BYTES) {
      yield { row, error: TOO_LONG };
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield { row, error: `not JSON: ${(error as Error).message}` };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      yield { row, error: 'not a JSON object' };
      continue;
    }
    let values: Record<string, string>;
    try {
      values = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cell(v)]));
    } catch (error) {
      if (!(error instanceof RowRefusedError)) throw error;
      yield { row, error: error.message };
      continue;
    }
    yield { row, values };
  }
}
