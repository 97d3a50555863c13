/** The market topics' record types: market.pages.raw, market.quotes.raw, market.quotes.enriched. */
import type { Envelope, Lineage } from './envelope.ts';

/** A fetched quote or history page, or a feed's response (market.pages.raw). */
export interface PageRecord extends Envelope {
  source: string;
  symbol: string;
  kind: 'quote' | 'history';
  url: string;
  status: number;
  content_type: string;
  body_gzip: Buffer;
  /** the feed format of a feed's response (domain/market/feeds.ts); null or absent for the demo site's pages */
  feed?: string | null;
}

/** One bar of one symbol (market.quotes.raw). */
export interface QuoteRecord extends Envelope {
  source: string;
  symbol: string;
  ts: number;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number;
  volume: number | null;
  source_url: string | null;
}

/** The indicators of a bar, null until enough closes were seen. */
export interface Indicators {
  return_1: number | null;
  sma20: number | null;
  sma50: number | null;
  ema20: number | null;
  ema50: number | null;
  volatility20: number | null;
  rsi14: number | null;
}

/** A bar with its indicators and lineage (market.quotes.enriched). */
export type EnrichedQuote = Omit<QuoteRecord, 'source' | 'source_url'> & Indicators & Lineage;
