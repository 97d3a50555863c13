/**
 * The market pipeline's sinks: every bar (market.quotes.raw) into ClickHouse market_quotes, the
 * enriched bars into ClickHouse market_indicators and the latest per symbol into Postgres
 * market_latest. Bars come in order per symbol (one key, one partition), and market-features
 * enriches only bars newer than the symbol's last, so the upsert keeps the newest.
 */
import { catalogueKey } from '../../core/catalogue.ts';
import { defineSink, type SinkSpec } from './runtime/spec.ts';
import type { EnrichedQuote, QuoteRecord } from '../../schemas/records/market.ts';
import { copied, eventTime, sourcePosition } from './columns.ts';

const indicators = copied<EnrichedQuote>('return_1', 'sma20', 'sma50', 'ema20', 'ema50', 'volatility20', 'rsi14');
const bar = (q: { ts: number }) => new Date(q.ts);

/**
 * `market-quotes-clickhouse`: market.quotes.raw -> ClickHouse `market_quotes`.
 *
 * @example
 * ```sh
 * npx millrace sink market-quotes-clickhouse
 * ```
 */
export const quotesToClickHouse: SinkSpec<QuoteRecord> = defineSink<QuoteRecord>({
  name: 'market-quotes-clickhouse',
  description: 'Every bar into ClickHouse, with its daily rollup `market_quotes_daily`: the quotes API reads it.',
  topic: 'market.quotes.raw',
  target: 'clickhouse',
  table: 'market_quotes',
  key: ['tenant_id', 'id'],
  columns: {
    ...copied<QuoteRecord>('id', 'tenant_id', 'symbol'),
    ts: bar,
    ...copied<QuoteRecord>('open', 'high', 'low', 'close', 'volume', 'source', 'source_url'),
    ...eventTime,
  },
});

/**
 * `market-indicators-clickhouse`: market.quotes.enriched -> ClickHouse `market_indicators`.
 *
 * @example
 * ```sh
 * npx millrace sink market-indicators-clickhouse
 * ```
 */
export const indicatorsToClickHouse: SinkSpec<EnrichedQuote> = defineSink<EnrichedQuote>({
  name: 'market-indicators-clickhouse',
  description:
    'Enriched bars (returns, moving averages, volatility, RSI) into ClickHouse: the indicators API reads them.',
  topic: 'market.quotes.enriched',
  target: 'clickhouse',
  table: 'market_indicators',
  key: ['tenant_id', 'id'],
  columns: {
    ...copied<EnrichedQuote>('id', 'tenant_id', 'symbol'),
    ts: bar,
    ...copied<EnrichedQuote>('close'),
    ...indicators,
    ...eventTime,
  },
});

/**
 * `market-latest-postgres`: market.quotes.enriched -> Postgres `market_latest`.
 *
 * @example
 * ```sh
 * npx millrace sink market-latest-postgres
 * ```
 */
export const latestToPostgres: SinkSpec<EnrichedQuote> = defineSink<EnrichedQuote>({
  name: 'market-latest-postgres',
  description:
    "The latest enriched bar of each symbol into Postgres, keyed by tenant and symbol: bars come in order per symbol and market-features enriches only bars newer than the symbol's last, so the upsert keeps the newest.",
  topic: 'market.quotes.enriched',
  target: 'postgres',
  table: 'market_latest',
  key: ['tenant_id', 'symbol'],
  columns: {
    symbol_key: (q) => catalogueKey('market.quotes.enriched', q), // the topic's record key, as it was consumed
    ...copied<EnrichedQuote>('tenant_id', 'symbol'),
    quote_id: (q) => q.id,
    ts: bar,
    ...copied<EnrichedQuote>('close'),
    ...indicators,
    updated_at: (q) => new Date(q.event_time),
    ...sourcePosition,
  },
});
