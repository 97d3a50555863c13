/**
 * Quote and history pages -> quotes (cheerio), and a market-data feed's response -> quotes
 * (feeds.ts). A page whose layout changed is refused with the selector that is missing, a feed
 * whose shape changed with what is missing, never turned into a zero price; the record then goes
 * to the DLQ and can be parsed again from market.pages.raw after the parser is fixed (`millrace replay`).
 */
import { gunzipSync } from 'node:zlib';
import { load, type CheerioAPI } from 'cheerio';
import type { PageRecord, QuoteRecord } from '../../schemas/records/market.ts';
import { errorKind } from '../../core/errors.ts';
import { FeedShapeError, isFeedFormat, parseFeed } from './feeds.ts';

export class PageLayoutError extends errorKind('PageLayoutError', { code: 'page_layout' }) {}

export type Selectors = { readonly [K in keyof typeof SELECTORS]: string };

export const SELECTORS = {
  quotePrice: '#quote .price[data-field="close"]',
  quoteTime: '#quote time.as-of',
  historyRows: '#history tbody tr',
  historyDate: 'td.date',
  historyClose: 'td.close',
} as const;

function price(text: string, selector: string): number {
  const value = Number(text.trim().replace(/,/g, ''));
  if (!Number.isFinite(value) || value <= 0)
    throw new PageLayoutError(`"${selector}" holds "${text.trim()}", not a price`);
  return value;
}

function day(text: string | undefined, selector: string): number {
  const ms = text ? Date.parse(`${text.trim()}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(ms)) throw new PageLayoutError(`"${selector}" holds "${text ?? ''}", not a date`);
  return ms;
}

function required($: CheerioAPI, selector: string) {
  const found = $(selector);
  if (found.length === 0) throw new PageLayoutError(`missing selector "${selector}"`);
  return found.first();
}

/** `selectors`: the page layout the parser expects (a layout change is fixed here). */
export function parsePage(page: PageRecord, selectors: Selectors = SELECTORS): QuoteRecord[] {
  if (page.status !== 200) throw new PageLayoutError(`page answered ${page.status}`);
  if (page.feed) return feedQuotes(page, page.feed);
  const $ = load(gunzipSync(page.body_gzip).toString('utf8'));
  const quote = (ts: number, close: number): QuoteRecord => ({
    id: `${page.tenant_id}:${page.symbol}:${ts}`,
    tenant_id: page.tenant_id,
    event_time: page.event_time,
    source: 'market-parser',
    symbol: page.symbol,
    ts,
    open: null,
    high: null,
    low: null,
    close,
    volume: null,
    source_url: page.url,
  });
  if (page.kind === 'quote') {
    const close = price(required($, selectors.quotePrice).text(), selectors.quotePrice);
    const ts = day(required($, selectors.quoteTime).attr('datetime'), `${selectors.quoteTime}[datetime]`);
    return [quote(ts, close)];
  }
  const rows = $(selectors.historyRows);
  if (rows.length === 0) throw new PageLayoutError(`missing selector "${selectors.historyRows}"`);
  return rows.toArray().map((row) => {
    const cell = (selector: string) => {
      const found = $(row).find(selector);
      if (found.length === 0) throw new PageLayoutError(`missing selector "${selectors.historyRows} ${selector}"`);
      return found.text();
    };
    return quote(
      day(cell(selectors.historyDate), selectors.historyDate),
      price(cell(selectors.historyClose), selectors.historyClose),
    );
  });
}

/** A feed's response -> one quote per bar, with its open, high, low and volume. */
function feedQuotes(page: PageRecord, format: string): QuoteRecord[] {
  if (!isFeedFormat(format)) throw new FeedShapeError(`unknown feed format "${format}"`);
  return parseFeed(format, gunzipSync(page.body_gzip).toString('utf8')).map((bar) => ({
    id: `${page.tenant_id}:${page.symbol}:${bar.ts}`,
    tenant_id: page.tenant_id,
    event_time: page.event_time,
    source: 'market-parser',
    symbol: page.symbol,
    ...bar,
    source_url: page.url,
  }));
}
