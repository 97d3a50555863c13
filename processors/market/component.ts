/** The market processors' component specs (what `millrace help market-parser|market-features` prints). */
import { processorComponent } from '../component.ts';

/**
 * `market-parser`: stored quote and history pages -> quotes (OHLCV bars).
 *
 * @example
 * ```sh
 * npx millrace replay --processor market-parser --topic market.pages.raw --output market.quotes.raw --from 0
 * ```
 */
export const marketParserComponent = processorComponent({
  name: 'market-parser',
  description:
    'Parses the quote and history pages the market retriever stored into quotes, one record per bar (cheerio), and the responses of market-data feeds ' +
    "(Stooq's and Yahoo's CSV downloads, Alpha Vantage's TIME_SERIES_DAILY JSON) into bars with open, high, low and volume. " +
    'A page whose layout changed goes to the DLQ naming the missing selector, a feed response whose shape changed (a column or key missing or renamed, a rate-limit note, HTML instead of data, a price that is not a number) naming what is missing: never a zero price; the pages stay on their topic a year, ' +
    "so after a parser fix `millrace replay` parses them again without fetching. Quotes are keyed by tenant and symbol, so one symbol's bars stay in order.",
  input: 'market.pages.raw',
  output: 'market.quotes.raw',
  example: [
    'npx millrace processor market-parser',
    '# after a parser fix, parse stored pages again:',
    'npx millrace replay --processor market-parser --topic market.pages.raw --output market.quotes.raw --from 2026-01-01T00:00:00Z',
  ].join('\n'),
});

/**
 * `market-features`: quotes -> quotes with indicators (returns, SMA/EMA 20/50, volatility 20, RSI 14).
 *
 * @example
 * ```sh
 * npx millrace processor market-features
 * ```
 */
export const marketFeaturesComponent = processorComponent({
  name: 'market-features',
  description:
    'Adds indicators to each quote: return, SMA and EMA 20/50, volatility 20 and RSI 14 per symbol. ' +
    "Each symbol's window (the last 50 closes and running averages) is keyed state kept in a compacted changelog topic written in the transaction of the output, " +
    'so a restart or a rebalance resumes with exactly the state of the last committed batch. ' +
    "A bar not newer than its symbol's last (a re-fetched page, a replay) produces nothing. Outputs are keyed by tenant and symbol. A stateful processor cannot be replayed under another name.",
  input: 'market.quotes.raw',
  output: 'market.quotes.enriched',
  stateTopic: 'market.indicators.state',
  example: ['npx millrace processor market-features', 'npx millrace consume --topic market.quotes.enriched'].join('\n'),
});
