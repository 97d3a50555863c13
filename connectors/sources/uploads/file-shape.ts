/**
 * Reading an uploaded file's shape from its first bytes: CSV or JSON lines, the CSV delimiter,
 * and each column's type inferred from a sample of values.
 */
export type Format = 'csv' | 'jsonl';
export type ColumnType = 'integer' | 'number' | 'boolean' | 'date' | 'string' | 'empty';

const DELIMITERS = [',', ';', '\t', '|'] as const;

export function detectFormat(head: string, contentType = ''): Format {
  if (/ndjson|jsonl|json-lines/.test(contentType)) return 'jsonl';
  if (/csv|tab-separated/.test(contentType)) return 'csv';
  return head
    .replace(/^\uFEFF/, '')
    .trimStart()
    .startsWith('{')
    ? 'jsonl'
    : 'csv';
}

/** Counts of a character per line outside quotes. */
function countsPerLine(lines: string[], ch: string): number[] {
  return lines.map((line) => {
    let inQuotes = false;
    let n = 0;
    for (const c of line) {
      if (c === '"') inQuotes = !inQuotes;
      else if (c === ch && !inQuotes) n += 1;
    }
    return n;
  });
}

/** The delimiter that splits the first lines most consistently into the most fields; ',' by default. */
export function detectDelimiter(head: string): string {
  const lines = head
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .slice(0, 20);
  // the last line of a sample may be cut short
  const complete = lines.length > 1 ? lines.slice(0, -1) : lines;
  let best: { delimiter: string; score: number } = { delimiter: ',', score: 0 };
  for (const delimiter of DELIMITERS) {
    const counts = countsPerLine(complete, delimiter);
    const first = counts[0] ?? 0;
    if (first === 0) continue;
    const consistent = counts.filter((n) => n === first).length / counts.length;
    const score = consistent * (first + 1);
    if (score > best.score) best = { delimiter, score };
  }
  return best.delimiter;
}

/** YYYY-MM-DD that names a real day (Date.parse accepts February 30th). */
function isCalendarDate(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function typeOf(value: string): ColumnType {
  const v = value.trim();
  if (v === '') return 'empty';
  if (/^[+-]?\d{1,15}$/.test(v)) return 'integer';
  if (/^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$/.test(v)) return 'number';
  if (/^(true|false|yes|no)$/i.test(v)) return 'boolean';
  if (
    /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) &&
    isCalendarDate(v.slice(0, 10))
  )
    return 'date';
  return 'string';
}

/** The narrowest type every non-empty sample value of a column fits. */
export function inferType(values: string[]): ColumnType {
  const types = new Set(values.map(typeOf).filter((t) => t !== 'empty'));
  if (types.size === 0) return 'empty';
  if (types.size === 1) return [...types][0]!;
  if ([...types].every((t) => t === 'integer' || t === 'number')) return 'number';
  return 'string';
}
