/**
 * Market-data feeds as real providers serve them, for the fixture site: the real daily S&P 500
 * bars of vega-datasets' sp500-2000.csv (2000-01-03 to 2020-04-17, open, high, low, close, adjusted
 * close, volume: a Yahoo Finance download) written in Stooq's CSV, Yahoo Finance's CSV and Alpha
 * Vantage's TIME_SERIES_DAILY JSON, with each provider's own query parameters for the range. A
 * `shape` parameter serves the ways a provider's answer changes under a client: a column or key
 * missing or renamed, a rate-limit note, an HTML page, a price that is not a number.
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { parse } from 'csv-parse/sync';
import { vegaData } from './stocks.ts';

/** One day as the source file has it: the numbers' text kept, as Yahoo wrote it. */
export interface DailyBar {
  date: string;
  open: string;
  high: string;
  low: string;
  close: string;
  adjclose: string;
  volume: string;
}

/** The names each provider serves the S&P 500 under. */
export const FEED_SYMBOLS = { stooq: '^spx', yahoo: '^GSPC', alphaVantage: 'SPX' } as const;

let cached: DailyBar[] | undefined;
export function loadDailyBars(): DailyBar[] {
  cached ??= parse(readFileSync(vegaData('sp500-2000.csv'), 'utf8'), { columns: true, skip_empty_lines: true });
  return cached!;
}

export type FeedShape = 'ok' | 'no-close' | 'renamed' | 'html' | 'non-numeric' | 'rate-limited' | 'information';

/** Stooq writes numbers shortest (1469.25, not 1469.250000). */
const short = (v: string) => String(Number(v));

export function stooqCsv(bars: DailyBar[], shape: FeedShape = 'ok'): string {
  const columns = ['Date', 'Open', 'High', 'Low', shape === 'renamed' ? 'Last' : 'Close', 'Volume'];
  const keep = (row: string[]) => (shape === 'no-close' ? row.filter((_, i) => i !== 4) : row);
  const lines = bars.map((b, i) =>
    keep([
      b.date,
      short(b.open),
      short(b.high),
      short(b.low),
      shape === 'non-numeric' && i === 1 ? '-' : short(b.close),
      b.volume,
    ]).join(','),
  );
  return `${[keep(columns).join(','), ...lines].join('\r\n')}\r\n`;
}

export function yahooCsv(bars: DailyBar[], shape: FeedShape = 'ok'): string {
  const columns = ['Date', 'Open', 'High', 'Low', shape === 'renamed' ? 'Last' : 'Close', 'Adj Close', 'Volume'];
  const keep = (row: string[]) => (shape === 'no-close' ? row.filter((_, i) => i !== 4) : row);
  const lines = bars.map((b, i) =>
    keep([
      b.date,
      b.open,
      b.high,
      b.low,
      shape === 'non-numeric' && i === 1 ? 'null' : b.close, // Yahoo writes "null" for a day it lacks
      b.adjclose,
      b.volume,
    ]).join(','),
  );
  return `${[keep(columns).join(','), ...lines].join('\n')}\n`;
}

const AV_NOTE =
  'Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like to target a higher API call frequency.';
const AV_INFORMATION =
  'Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily rate limits.';

/** TIME_SERIES_DAILY: newest first, prices with four decimals, every value a string. */
export function alphaVantageJson(
  symbol: string,
  bars: DailyBar[],
  outputSize: 'Compact' | 'Full size',
  shape: FeedShape = 'ok',
): string {
  if (shape === 'rate-limited') return JSON.stringify({ Note: AV_NOTE }, null, 4);
  if (shape === 'information') return JSON.stringify({ Information: AV_INFORMATION }, null, 4);
  const four = (v: string) => Number(v).toFixed(4);
  const series = Object.fromEntries(
    [...bars].reverse().map((b, i) => {
      const day: Record<string, string> = {
        '1. open': four(b.open),
        '2. high': four(b.high),
        '3. low': four(b.low),
        '4. close': shape === 'non-numeric' && i === 1 ? 'N/A' : four(b.close),
        '5. volume': b.volume,
      };
      if (shape === 'no-close') delete day['4. close'];
      return [b.date, day];
    }),
  );
  return JSON.stringify(
    {
      'Meta Data': {
        '1. Information': 'Daily Prices (open, high, low, close) and Volumes',
        '2. Symbol': symbol,
        '3. Last Refreshed': bars.at(-1)?.date ?? '',
        '4. Output Size': outputSize,
        '5. Time Zone': 'US/Eastern',
      },
      [shape === 'renamed' ? 'Time Series Daily' : 'Time Series (Daily)']: series,
    },
    null,
    4,
  );
}

const HTML_INSTEAD =
  '<!DOCTYPE html><html><head><title>Service unavailable</title></head><body><h1>We are upgrading our site</h1></body></html>';

/** YYYYMMDD (Stooq's d1/d2) or epoch seconds (Yahoo's period1/period2) as YYYY-MM-DD. */
const stooqDay = (v: string | null) =>
  v && /^\d{8}$/.test(v) ? `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6)}` : undefined;
const epochDay = (v: string | null) =>
  v && /^\d+$/.test(v) ? new Date(Number(v) * 1000).toISOString().slice(0, 10) : undefined;

const within = (bars: DailyBar[], from?: string, to?: string) =>
  bars.filter((b) => (!from || b.date >= from) && (!to || b.date <= to));

/**
 * Serves the three providers' paths; false when the request is not for a feed:
 *   /stooq/q/d/l/?s=^spx&i=d[&d1=YYYYMMDD&d2=YYYYMMDD]
 *   /yahoo/v7/finance/download/^GSPC?period1=<s>&period2=<s>&interval=1d
 *   /alphavantage/query?function=TIME_SERIES_DAILY&symbol=SPX[&outputsize=compact|full]&apikey=<key>
 * each with an optional `shape` (FeedShape).
 */
export function serveFeeds(url: URL, res: ServerResponse): boolean {
  const shape = (url.searchParams.get('shape') ?? 'ok') as FeedShape;
  const send = (type: string, body: string) => {
    if (shape === 'html') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(HTML_INSTEAD);
    else res.writeHead(200, { 'content-type': type }).end(body);
  };
  const bars = loadDailyBars();
  if (url.pathname === '/stooq/q/d/l/') {
    const known = url.searchParams.get('s')?.toLowerCase() === FEED_SYMBOLS.stooq && url.searchParams.get('i') === 'd';
    const range = within(bars, stooqDay(url.searchParams.get('d1')), stooqDay(url.searchParams.get('d2')));
    send('text/csv', known && range.length > 0 ? stooqCsv(range, shape) : 'No data');
    return true;
  }
  if (url.pathname.startsWith('/yahoo/v7/finance/download/')) {
    const symbol = decodeURIComponent(url.pathname.slice('/yahoo/v7/finance/download/'.length));
    if (symbol !== FEED_SYMBOLS.yahoo) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(
          '{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}',
        );
      return true;
    }
    const range = within(bars, epochDay(url.searchParams.get('period1')), epochDay(url.searchParams.get('period2')));
    send('text/csv', yahooCsv(range, shape));
    return true;
  }
  if (url.pathname === '/alphavantage/query') {
    const q = url.searchParams;
    if (q.get('function') !== 'TIME_SERIES_DAILY' || q.get('symbol') !== FEED_SYMBOLS.alphaVantage) {
      send(
        'application/json',
        JSON.stringify({
          'Error Message':
            'Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY.',
        }),
      );
      return true;
    }
    const full = q.get('outputsize') === 'full';
    send(
      'application/json',
      alphaVantageJson(
        FEED_SYMBOLS.alphaVantage,
        full ? bars : bars.slice(-100),
        full ? 'Full size' : 'Compact',
        shape,
      ),
    );
    return true;
  }
  return false;
}
