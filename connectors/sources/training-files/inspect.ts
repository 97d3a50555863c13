/**
 * Inspecting a training file in two passes over it on disk: the first finds the columns and infers
 * each one's type from all its values (profile.ts), the second types every row, refusing the rows
 * that do not fit (by number, with the reason) and profiling the columns over the rows that do.
 */
import type { ColumnProfile, RefusedRow, TypedColumn } from '../../../models/tabular/uploaded-datasets.ts';
import { UploadError } from '../uploads/upload-error.ts';
import { declaredColumns, fileRows, type TrainingFormat } from './file-rows.ts';
import { ColumnCounts, ColumnProfiler, typeRow } from './profile.ts';

/** Columns a training file may have. */
export const MAX_COLUMNS = 1000;
/** Refused rows listed by number; the rest are counted. */
export const LISTED_REFUSALS = 100;

export interface Inspection {
  /** the rows read (a CSV header excluded) */
  rows: number;
  good_rows: number;
  bad_rows: number;
  /** the first LISTED_REFUSALS bad rows */
  bad: RefusedRow[];
  columns: ColumnProfile[];
}

/** Refused rows: all counted, the first few kept. */
export class Refusals {
  count = 0;
  readonly listed: RefusedRow[] = [];

  add(row_number: number, reason: string): void {
    this.count += 1;
    if (this.listed.length < LISTED_REFUSALS) this.listed.push({ row_number, reason });
  }
}

async function inferColumns(file: string, format: TrainingFormat, delimiter: string | null): Promise<TypedColumn[]> {
  const declared = await declaredColumns(file, format, delimiter);
  const seen = new Set<string>();
  for (const name of declared ?? []) {
    if (seen.has(name)) throw new UploadError(400, `the column ${JSON.stringify(name)} is named twice`, 'columns');
    seen.add(name);
  }
  const counts = new Map((declared ?? []).map((name) => [name, new ColumnCounts()]));
  for await (const row of fileRows(file, format, delimiter)) {
    if ('error' in row) continue;
    for (const [name, cell] of Object.entries(row.values)) {
      let column = counts.get(name);
      if (!column) {
        if (counts.size >= MAX_COLUMNS) throw new UploadError(400, `the file has more than ${MAX_COLUMNS} columns`);
        column = new ColumnCounts();
        counts.set(name, column);
      }
      column.add(cell);
    }
  }
  if (counts.size === 0) throw new UploadError(400, 'the file has no columns');
  if (counts.size > MAX_COLUMNS) throw new UploadError(400, `the file has more than ${MAX_COLUMNS} columns`);
  return [...counts].map(([name, c]) => ({ name, type: c.infer() }));
}

/** Reads the file twice: its columns with their types and profiles, its rows, and its bad rows by number with the reason. */
export async function inspectFile(file: string, format: TrainingFormat, delimiter: string | null): Promise<Inspection> {
  const columns = await inferColumns(file, format, delimiter);
  const profilers = columns.map((c) => new ColumnProfiler(c));
  const refusals = new Refusals();
  let rows = 0;
  for await (const row of fileRows(file, format, delimiter)) {
    rows += 1;
    const typed = 'error' in row ? row : typeRow(row.values, columns);
    if ('error' in typed) refusals.add(row.row, typed.error);
    else typed.values.forEach((v, i) => profilers[i]!.add(v));
  }
  if (rows === 0) throw new UploadError(400, 'the file has no rows');
  return {
    rows,
    good_rows: rows - refusals.count,
    bad_rows: refusals.count,
    bad: refusals.listed,
    columns: profilers.map((p) => p.result()),
  };
}
