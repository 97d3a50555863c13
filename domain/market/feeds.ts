/**
 * Real market-data formats -> daily OHLCV bars (pure): Stooq's CSV download (`/q/d/l/?s=msft.us&i=d`:
 * `Date,Open,High,Low,Close,Volume`), Yahoo Finance's (`Date,Open,High,Low,Close,Adj Close,Volume`)
 * and Alpha Vantage's TIME_SERIES_DAILY JSON. A response whose shape changed (a column or key
 * missing or renamed, a rate-limit note instead of data, an HTML page instead of CSV, a price that
 * is not a number) is refused with a FeedShapeError naming what is missing or wrong, never turned
 * into a zero price; the record then goes to the DLQ and can be parsed again after a fix.
 */
import { parse } from 'csv-parse/sync';
import { errorKind } from '../../core/errors.ts';

export const FEED_FORMATS = ['stooq_csv', 'yahoo_csv', 'alpha_vantage_json'] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];

export class FeedShapeError extends errorKind('FeedShapeError', { code: 'feed_shape' }) {}

/** One day of one symbol; the volume is null where a feed has none (an index on Stooq). */
export interface Bar {
  /** the day, midnight UTC, in ms */
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number | null;
}

const CSV_COLUMNS: Record<'stooq_csv' | 'yahoo_csv', { required: string[]; optional: string[] }> = {
  stooq_csv: { required: ['Date', 'Open', 'High', 'Low', 'Close'], optional: ['Volume'] },
  yahoo_csv: { required: ['Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume'], optional: [] },
};

const FORMAT_NAMES: Record<FeedFormat, string> = {
  stooq_csv: 'Stooq CSV',
  yahoo_csv: 'Yahoo Finance CSV',
  alpha_vantage_json: 'Alpha Vantage TIME_SERIES_DAILY JSON',
};

const quoted = (text: string, max = 120) => JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);

function day(text: string | undefined, where: string): number {
  const v = (text ?? '').trim();
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== v)
    throw new FeedShapeError(`${where}: ${quoted(v)} is not a date (YYYY-MM-DD)`);
  return ms;
}

function price(text: string | undefined, where: string): number {
  const v = (text ?? '').trim();
  const n = v === '' ? Number.NaN : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new FeedShapeError(`${where} is ${quoted(v)}, not a price`);
  return n;
}

function volume(text: string | undefined, where: string): number {
  const v = (text ?? '').trim();
  const n = v === '' ? Number.NaN : Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new FeedShapeError(`${where} is ${quoted(v)}, not a volume`);
  return n;
}

/** An HTML page where data was expected: a login wall, an error page, a site redesign. */
function refuseHtml(text: string, format: FeedFormat): void {
  if (/^\s*</.test(text))
    throw new FeedShapeError(
      `an HTML page (${quoted(text.trim().split('\n')[0] ?? '', 60)}) instead of the ${FORMAT_NAMES[format]}`,
    );
}

function csvBars(format: 'stooq_csv' | 'yahoo_csv', text: string): Bar[] {
  refuseHtml(text, format);
  const { required, optional } = CSV_COLUMNS[format];
  let rows: string[][];
  try {
    rows = parse(text.replace(/^\uFEFF/, ''), { skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch (error) {
    throw new FeedShapeError(`not a ${FORMAT_NAMES[format]}: ${(error as Error).message}`);
  }
  const header = (rows[0] ?? []).map((h) => h.trim());
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0)
    throw new FeedShapeError(
      header.length <= 1
        ? `not a ${FORMAT_NAMES[format]}: the first line is ${quoted(text.trim().split('\n')[0] ?? '')}, expected the header ${[...required, ...optional].join(',')}`
        : `the ${FORMAT_NAMES[format]} has no column ${missing.join(', ')} (its header: ${header.join(',')})`,
    );
  const at = (name: string) => header.indexOf(name);
  const hasVolume = at('Volume') >= 0;
  return rows.slice(1).map((row, i) => {
    const date = row[at('Date')];
    const where = (column: string) => `row ${i + 1} (${date ?? ''}) ${column}`;
    if (row.length !== header.length)
      throw new FeedShapeError(`row ${i + 1} has ${row.length} fields, the header ${header.length}`);
    return {
      ts: day(date, `row ${i + 1} Date`),
      open: price(row[at('Open')], where('Open')),
      high: price(row[at('High')], where('High')),
      low: price(row[at('Low')], where('Low')),
      close: price(row[at('Close')], where('Close')),
      volume: hasVolume ? volume(row[at('Volume')], where('Volume')) : null,
    };
  });
}

const SERIES_KEY = 'Time Series (Daily)';
const DAY_KEYS = { open: '1. open', high: '2. high', low: '3. low', close: '4. close', volume: '5. volume' } as const;
/** What Alpha Vantage answers instead of data: a rate limit (Note, Information) or a bad request. */
const NOTICES = ['Note', 'Information', 'Error Message'];

function alphaVantageBars(text: string): Bar[] {
  refuseHtml(text, 'alpha_vantage_json');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new FeedShapeError(`not JSON (${(error as Error).message}), expected the ${FORMAT_NAMES.alpha_vantage_json}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new FeedShapeError(`the JSON is not an object, expected the ${FORMAT_NAMES.alpha_vantage_json}`);
  const fields = body as Record<string, unknown>;
  const notice = NOTICES.find((k) => typeof fields[k] === 'string');
  if (notice && !(SERIES_KEY in fields))
    throw new FeedShapeError(`no "${SERIES_KEY}"; instead "${notice}": ${quoted(String(fields[notice]))}`);
  const series = fields[SERIES_KEY];
  if (typeof series !== 'object' || series === null || Array.isArray(series))
    throw new FeedShapeError(`no "${SERIES_KEY}" object (its keys: ${Object.keys(fields).join(', ') || 'none'})`);
  return Object.entries(series as Record<string, unknown>).map(([date, values]) => {
    const ts = day(date, `"${SERIES_KEY}" key`);
    if (typeof values !== 'object' || values === null)
      throw new FeedShapeError(`"${SERIES_KEY}"."${date}" is not an object`);
    const v = values as Record<string, unknown>;
    const missing = Object.values(DAY_KEYS).filter((k) => !(k in v));
    if (missing.length > 0)
      throw new FeedShapeError(
        `"${SERIES_KEY}"."${date}" has no ${missing.map((k) => `"${k}"`).join(', ')} (its keys: ${Object.keys(v).join(', ')})`,
      );
    const where = (key: string) => `"${SERIES_KEY}"."${date}"."${key}"`;
    const text = (key: string) => (typeof v[key] === 'string' || typeof v[key] === 'number' ? String(v[key]) : '');
    return {
      ts,
      open: price(text(DAY_KEYS.open), where(DAY_KEYS.open)),
      high: price(text(DAY_KEYS.high), where(DAY_KEYS.high)),
      low: price(text(DAY_KEYS.low), where(DAY_KEYS.low)),
      close: price(text(DAY_KEYS.close), where(DAY_KEYS.close)),
      volume: volume(text(DAY_KEYS.volume), where(DAY_KEYS.volume)),
    };
  });
}

/**
 * A feed's response body -> its bars, oldest first (Alpha Vantage lists the newest first; the
 * indicators need time order). Throws FeedShapeError naming what is missing or wrong.
 *
 * @example
 * ```ts
 * parseFeed('stooq_csv', 'Date,Open,High,Low,Close,Volume\n2000-01-03,1469.25,1478,1438.36,1455.22,931800000\n');
 * // [{ ts: 946857600000, open: 1469.25, high: 1478, low: 1438.36, close: 1455.22, volume: 931800000 }]
 * ```
 */
export function parseFeed(format: FeedFormat, text: string): Bar[] {
  const bars = format === 'alpha_vantage_json' ? alphaVantageBars(text) : csvBars(format, text);
  return bars.sort((a, b) => a.ts - b.ts);
}

export const isFeedFormat = (value: string): value is FeedFormat => (FEED_FORMATS as readonly string[]).includes(value);
