/**
 * Cells as COPY's text format (https://www.postgresql.org/docs/current/sql-copy.html, "Text
 * Format"): one line a row, cells separated by tabs, `\N` for NULL, and a backslash, tab, newline
 * or carriage return inside a value written as `\\`, `\t`, `\n`, `\r`. Each cell is the text a
 * query parameter would carry (what pg sends), so the column's input function reads the same value.
 */
import type { Cell } from '../runtime/spec.ts';

/** A cell Postgres cannot store whatever the column: the row goes to the DLQ with this message. */
export class UnstorableCellError extends Error {
  override name = 'UnstorableCellError';
  /** The SQLSTATE Postgres answers for the same value as a parameter. */
  readonly code: string;

  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

const SPECIAL = /[\0\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value's text made safe for one COPY cell; a NUL byte (text cannot hold one) is refused. */
export function escapeCopy(text: string): string {
  if (!SPECIAL.test(text)) return text;
  // the same words as Postgres for a NUL in a parameter, so the DLQ reason does not depend on the path
  if (text.includes('\0')) throw new UnstorableCellError('invalid byte sequence for encoding "UTF8": 0x00', '22021');
  return text.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!);
}

/** An array element inside a Postgres array literal: quoted, with `"` and `\` escaped (as pg does). */
function arrayElement(item: string | number | boolean | null): string {
  if (item === null) return 'NULL';
  return `"${String(item).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The text a query parameter would carry for `cell` (pg's prepareValue), before COPY's escaping; null is NULL. */
export function cellText(cell: Cell): string | null {
  if (cell === null) return null;
  if (typeof cell === 'string') return cell;
  if (cell instanceof Date) {
    if (Number.isNaN(cell.getTime())) throw new UnstorableCellError('invalid Date', '22007');
    return cell.toISOString();
  }
  if (Array.isArray(cell)) return `{${cell.map(arrayElement).join(',')}}`;
  return String(cell); // number, bigint, boolean
}

/** One row as a COPY text line, newline included. */
export function copyLine(cells: readonly Cell[]): string {
  let line = '';
  for (let i = 0; i < cells.length; i++) {
    const text = cellText(cells[i]!);
    line += (i === 0 ? '' : '\t') + (text === null ? '\\N' : escapeCopy(text));
  }
  return `${line}\n`;
}
