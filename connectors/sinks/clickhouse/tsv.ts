/**
 * Cells as ClickHouse's TabSeparated text, one encoder per column type, built once per table: the
 * sink's insert format (a row is its cells joined by tabs, rows end with a newline). Compact and
 * cheap to write next to JSONEachRow (no object, no JSON.stringify, no key per cell), and read by
 * 18.16 and 24.x alike. Numbers go in as text the server parses in one rounding (float-text.ts),
 * times as epoch seconds (independent of the server's time zone), NULL as \N.
 */
import type { Cell } from '../runtime/spec.ts';
import { float64Text } from './float-text.ts';

export type CellEncoder = (cell: Cell) => string;

const TSV_SPECIAL = /[\\\t\n\r\0\b\f]/;
const TSV_SPECIALS = /[\\\t\n\r\0\b\f]/g;
const QUOTED_SPECIALS = /[\\'\t\n\r\0\b\f]/g;
const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  "'": "\\'",
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};
const escapeChar = (c: string) => ESCAPES[c]!;

/** A string as a TabSeparated field: backslash, tab, newline and the other control escapes written as ClickHouse reads them back. */
export function tsvString(value: string): string {
  return TSV_SPECIAL.test(value) ? value.replace(TSV_SPECIALS, escapeChar) : value;
}

/** A string inside an array's text: single-quoted, escaped, so the field holds no raw tab or newline. */
const quotedString = (value: string) => `'${value.replace(QUOTED_SPECIALS, escapeChar)}'`;

const epochSeconds = (date: Date) => String(Math.floor(date.getTime() / 1000));

/** Milliseconds as seconds with `digits` (0-3) decimals, exactly (no float arithmetic): DateTime64's text. */
function epochSecondsFraction(date: Date, digits: number): string {
  const ms = date.getTime();
  const magnitude = Math.abs(ms);
  const seconds = `${ms < 0 ? '-' : ''}${Math.trunc(magnitude / 1000)}`;
  return digits === 0
    ? seconds
    : `${seconds}.${String(magnitude % 1000)
        .padStart(3, '0')
        .slice(0, digits)}`;
}

/** What any column makes of a cell its own encoder does not special-case. */
function plain(cell: Cell): string {
  if (typeof cell === 'string') return tsvString(cell);
  if (typeof cell === 'boolean') return cell ? '1' : '0';
  if (cell instanceof Date) return epochSeconds(cell);
  if (Array.isArray(cell)) return tsvString(JSON.stringify(cell));
  return String(cell);
}

/** An array's text, `[1.5,NULL]` or `['a\tb','c']`: read by the server as it stands inside a TabSeparated field. */
function arrayEncoder(element: string): CellEncoder {
  const float = /^(Nullable\()?Float(32|64)\)?$/.test(element);
  const item = (value: string | number | boolean | null): string => {
    if (value === null) return 'NULL';
    if (typeof value === 'string') return quotedString(value);
    if (typeof value === 'boolean') return value ? '1' : '0';
    return float ? float64Text(value) : String(value);
  };
  return (cell) =>
    Array.isArray(cell) ? `[${(cell as (string | number | boolean | null)[]).map(item).join(',')}]` : plain(cell);
}

function baseEncoder(type: string): CellEncoder {
  const lowCardinality = /^LowCardinality\((.*)\)$/.exec(type);
  if (lowCardinality) return tsvEncoder(lowCardinality[1]!);
  const array = /^Array\((.*)\)$/.exec(type);
  if (array) return arrayEncoder(array[1]!);
  if (type === 'Float64' || type === 'Float32')
    return (cell) => (typeof cell === 'number' ? float64Text(cell) : plain(cell));
  const dateTime64 = /^DateTime64\((\d+)/.exec(type);
  if (dateTime64) {
    const digits = Math.min(3, Number(dateTime64[1]));
    return (cell) => (cell instanceof Date ? epochSecondsFraction(cell, digits) : plain(cell));
  }
  if (type === 'Date' || type === 'Date32')
    return (cell) => (cell instanceof Date ? cell.toISOString().slice(0, 10) : plain(cell));
  return plain;
}

/**
 * The encoder of a column of ClickHouse type `type` (as system.columns names it).
 *
 * @example
 * tsvEncoder('Nullable(String)')(null)       // '\\N'
 * tsvEncoder('String')('a\tb')               // 'a\\tb'
 * tsvEncoder('DateTime')(new Date(1500))     // '1'
 */
export function tsvEncoder(type: string): CellEncoder {
  const nullable = /^Nullable\((.*)\)$/.exec(type);
  if (!nullable) return baseEncoder(type);
  const inner = baseEncoder(nullable[1]!);
  return (cell) => (cell === null ? '\\N' : inner(cell));
}
