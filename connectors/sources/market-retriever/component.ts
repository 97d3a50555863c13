/** The market retriever's component spec (what `millrace help market-retriever` prints). */
import { CLICKHOUSE_URL, CRAWL_ALLOWED_HOSTS, POSTGRES_URL } from '../../../core/component-fields.ts';
import { defineComponent } from '../../../core/component-spec.ts';

/**
 * `market-retriever`: watched symbols -> their quote and history pages on market.pages.raw.
 *
 * @example
 * ```sh
 * MARKET_SITE_URL=http://127.0.0.1:8090 npx millrace source market-retriever
 * ```
 */
export const marketRetrieverComponent = defineComponent({
  kind: 'source',
  name: 'market-retriever',
  description:
    'Fetches the quote and history pages of every watched symbol into Kafka, as fetched, or, for a symbol watched with a market-data feed ' +
    '(stooq_csv, yahoo_csv or alpha_vantage_json and its url), that feed once a run, whatever its content type, published with its format. ' +
    'Each symbol is fetched at its own interval: the history pages (one resumable crawl a day, oldest first), then the quote page, ' +
    "so a symbol's bars reach the indicators in time order; each page is published gzip-compressed and keyed by symbol. Parsing happens downstream (market-parser), " +
    'so a parser fix re-reads stored pages instead of fetching again. The watch list (Postgres market_symbols, POST /v1/stocks) is re-read periodically, so added or removed symbols ' +
    'take effect without a restart. Fetching obeys robots.txt and per-host limits, retries with back-off, and logs every attempt.',
  input: [],
  output: ['market.pages.raw'],
  rejects:
    'a page that cannot be fetched is logged with its outcome (ClickHouse fetch_log) and fetched again at the next run',
  writes: ['ClickHouse fetch_log'],
  runs: 'millrace source market-retriever',
  config: [
    {
      name: 'MARKET_SITE_URL',
      type: 'url',
      default: 'http://127.0.0.1:8090',
      description:
        'the quote site fetched (the embedded default serves the fixture site here); its host is allowed even when local',
      example: 'https://quotes.example',
    },
    {
      name: 'MARKET_WATCHLIST_REFRESH_MS',
      type: 'integer',
      default: '30000',
      description: 'how often the watch list is re-read from Postgres (at least 1000)',
      example: '60000',
    },
    CRAWL_ALLOWED_HOSTS,
    { ...POSTGRES_URL, description: 'the Postgres database: the watch list' },
    {
      ...CLICKHOUSE_URL,
      description: `${CLICKHOUSE_URL.description}: the fetch log, which also tells a resumed crawl what it fetched`,
    },
  ],
  example: [
    'npx millrace source market-retriever',
    'curl -s -X POST -H "authorization: Bearer $KEY" -H \'content-type: application/json\' 127.0.0.1:8080/v1/stocks -d \'{"symbol":"MSFT","interval_s":3600}\'',
    'curl -s -X POST -H "authorization: Bearer $KEY" -H \'content-type: application/json\' 127.0.0.1:8080/v1/stocks -d \'{"symbol":"SPX","feed":{"format":"stooq_csv","url":"http://127.0.0.1:8090/stooq/q/d/l/?s=%5Espx&i=d"}}\'',
  ].join('\n'),
});
