/**
 * One cell of a training file as a value of a column type. A cell is text (CSV, JSON lines as
 * their values' text, Parquet values rendered alike: file-rows.ts); empty or blank text is a
 * missing value, whatever the type.
 *
 * - numeric: a decimal number, optionally signed, with a `.` fraction and an exponent (`-1.5e3`);
 *   no thousands separators, no decimal comma, no NaN or Infinity
 * - boolean: `true` or `false`, any case (0 and 1 are numbers)
 * - timestamp: an ISO 8601 date or date-time on a real calendar day (`1970-01-01`,
 *   `2024-02-29T13:45:00Z`, with an offset or without: then UTC), as epoch milliseconds
 * - categorical and text: the text itself
 */
import type { ColumnType } from '../../../models/tabular/uploaded-datasets.ts';

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export const isMissing = (cell: string): boolean => cell.trim() === '';

export function parseNumber(cell: string): number | undefined {
  const text = cell.trim();
  if (!NUMBER.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

export function parseBoolean(cell: string): 0 | 1 | undefined {
  const text = cell.trim().toLowerCase();
  return text === 'true' ? 1 : text === 'false' ? 0 : undefined;
}

/** Epoch milliseconds of an ISO 8601 date or date-time (UTC when it names no offset). */
export function parseTimestamp(cell: string): number | undefined {
  const text = cell.trim();
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h = '00', mi = '00', s = '00'] = m.slice(1, 7) as string[];
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  // Date.UTC rolls February 30th over into March
  if (day.getUTCFullYear() !== Number(y) || day.getUTCMonth() !== Number(mo) - 1 || day.getUTCDate() !== Number(d))
    return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  const zone = m[8] ?? 'Z';
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${(m[7] ?? '').slice(0, 4)}${zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A present cell as a value of `type`, or why it is not one. */
export function typedCell(type: ColumnType, cell: string): { value: number | string } | { error: string } {
  const value =
    type === 'numeric'
      ? parseNumber(cell)
      : type === 'boolean'
        ? parseBoolean(cell)
        : type === 'timestamp'
          ? parseTimestamp(cell)
          : cell;
  if (value !== undefined) return { value };
  const shown = cell.length > 60 ? `${JSON.stringify(cell.slice(0, 60))}...` : JSON.stringify(cell);
  const wanted = { numeric: 'a number', boolean: 'true or false', timestamp: 'an ISO 8601 date or time' }[
    type as 'numeric' | 'boolean' | 'timestamp'
  ];
  return { error: `${shown} is not ${wanted}` };
}
