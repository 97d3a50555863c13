/**
 * The market processors.
 *
 * `market-parser`: market.pages.raw -> market.quotes.raw. A page whose layout changed goes to the
 * DLQ naming the selector; the pages stay on their topic, so after a fix `millrace replay` parses
 * them again without fetching.
 *
 * `market-features`: market.quotes.raw -> market.quotes.enriched. Each symbol's indicator state (the
 * last 50 closes and running averages, indicators.ts) is kept in a compacted changelog topic
 * written in the same transaction as the output, rather than re-read from ClickHouse: ClickHouse is
 * filled by a sink that runs behind, so state read there could be older than the quotes already
 * enriched, and a restart would compute different indicators for the same bars.
 *
 * Both write topics the catalogue keys by tenant and symbol, so one symbol's bars stay in order in one
 * partition; the runtime keys their output so.
 */
import type { ProcessorSpec } from '../runtime/index.ts';
import { perRecord } from '../runtime/index.ts';
import { step, type IndicatorState } from './indicators.ts';
import { parsePage, SELECTORS, type Selectors } from '../../domain/market/parse-page.ts';
import type { EnrichedQuote, PageRecord, QuoteRecord } from '../../schemas/records/market.ts';
import { lineageOf } from '../runtime/lineage.ts';

export function marketParser(
  topics: { input: string; output: string },
  options: { name?: string; selectors?: Selectors } = {},
): ProcessorSpec<PageRecord, QuoteRecord> {
  const selectors = options.selectors ?? SELECTORS;
  return {
    name: options.name ?? 'market-parser',
    ...topics,
    transform: perRecord(({ value }) => parsePage(value, selectors)),
  };
}

/** The changelog of market-features' indicator state. */
export const FEATURES_STATE_TOPIC = 'market.indicators.state';

export function marketFeatures(topics: {
  input: string;
  output: string;
  state?: string;
}): ProcessorSpec<QuoteRecord, EnrichedQuote> {
  return {
    name: 'market-features',
    input: topics.input,
    output: topics.output,
    state: { topic: topics.state ?? FEATURES_STATE_TOPIC },
    transform: perRecord((record, ctx) => {
      const quote = record.value;
      const key = `${quote.tenant_id}:${quote.symbol}`; // the symbol's state, whatever the topics' keys
      const next = step(ctx.state!.get<IndicatorState>(key), quote.ts, quote.close);
      // a bar not newer than the symbol's last (a re-fetched page, a replay) changes nothing: its
      // enriched record was written when it first came in order
      if (!next) return [];
      ctx.state!.put(key, next.state);
      return [
        {
          ...lineageOf(record),
          symbol: quote.symbol,
          ts: quote.ts,
          open: quote.open,
          high: quote.high,
          low: quote.low,
          close: quote.close,
          volume: quote.volume,
          ...next.indicators,
        },
      ];
    }),
  };
}
