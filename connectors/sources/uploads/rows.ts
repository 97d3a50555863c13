/**
 * Streams the rows of an uploaded file, one at a time, never the whole file in memory, decoded
 * from the encoding it was received in (charset.ts) as it streams. CSV: the first record is the
 * header; a record with another field count, broken quoting, an oversized row or bytes that are
 * not valid in the file's encoding is yielded as a rejection with its row number, and reading goes
 * on. JSON lines: each line one object, refused likewise when it is too large, nested too deeply
 * to write back, or holds a number past the double range.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import type { Format } from './file-shape.ts';
import { encodingName, toUtf8, type Encoding } from './charset.ts';
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

/** A file's text as UTF-8 bytes, decoded as it streams. */
const textOf = (file: string, encoding: Encoding) => {
  const source = createReadStream(file);
  // UTF-8 is read as it is: its broken rows are refused one by one below
  return { source, text: encoding === 'utf-8' ? source : source.pipe(toUtf8(encoding)) };
};

/** The header of a CSV file: its first record, names trimmed, blanks named column_<n>. */
export async function readHeader(file: string, delimiter: string, encoding: Encoding = 'utf-8'): Promise<string[]> {
  const { source, text } = textOf(file, encoding);
  try {
    for await (const record of text.pipe(
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

export async function* readRows(
  file: string,
  format: Format,
  delimiter = ',',
  encoding: Encoding = 'utf-8',
): AsyncGenerator<Row> {
  const notValid = `not valid ${encodingName(encoding)}`;
  if (format === 'jsonl') yield* jsonLines(file, encoding, notValid);
  else yield* csvRows(file, delimiter, encoding, notValid);
}

async function* csvRows(file: string, delimiter: string, encoding: Encoding, notValid: string): AsyncGenerator<Row> {
  const { source, text } = textOf(file, encoding);
  const parser = text.pipe(
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
      if (record.some((v) => v.includes('\uFFFD'))) yield { row, error: notValid };
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

async function* jsonLines(file: string, encoding: Encoding, notValid: string): AsyncGenerator<Row> {
  let row = 0;
  const { source, text: input } = textOf(file, encoding);
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      const text = row === 0 ? line.replace(/^\uFEFF/, '') : line;
      if (text.trim() === '') continue;
      row += 1;
      if (text.includes('\uFFFD')) {
        yield { row, error: notValid };
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
  } finally {
    source.destroy();
  }
}
