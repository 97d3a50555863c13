/**
 * Streams the rows of an uploaded file, one at a time, never the whole file in memory. CSV: the
 * first record is the header; a record with another field count, broken quoting, an oversized
 * field or bytes that are not UTF-8 is yielded as a rejection with its row number, and reading
 * goes on. JSON lines: each line one object.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import type { Format } from './sniff.ts';

export type Row = { row: number; values: Record<string, string> } | { row: number; error: string };

/** Longest field accepted; a row with a longer one is rejected. */
export const MAX_FIELD_CHARS = 1024 * 1024;
/** Past this a record is not even assembled in memory: the parser gives up on it. */
const PARSER_MAX_RECORD_BYTES = 32 * 1024 * 1024;

const cell = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v));

/** The header of a CSV file: its first record, names trimmed, blanks named column_<n>. */
export async function readHeader(file: string, delimiter: string): Promise<string[]> {
  const source = createReadStream(file);
  try {
    for await (const record of source.pipe(parse({ bom: true, delimiter, to_line: 1, relax_column_count: true, max_record_size: PARSER_MAX_RECORD_BYTES })) as AsyncIterable<string[]>) {
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
    parse({ bom: true, delimiter, relax_column_count: true, skip_records_with_error: true, max_record_size: PARSER_MAX_RECORD_BYTES, encoding: 'utf8' }),
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
      else if (record.some((v) => v.length > MAX_FIELD_CHARS)) yield { row, error: `a field is longer than ${MAX_FIELD_CHARS} characters` };
      else if (record.length !== header.length) yield { row, error: `expected ${header.length} fields, got ${record.length}` };
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
    yield { row, values: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cell(v)])) };
  }
}
