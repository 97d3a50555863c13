/** The fixture site's component spec (what `millrace help fixture-site` prints). */
import { defineComponent } from '../../../core/component-spec.ts';

/**
 * `fixture-site`: the local web site the crawlers are demonstrated and tested against.
 *
 * @example
 * ```sh
 * npx millrace source fixture-site && curl -s 127.0.0.1:8090/robots.txt
 * ```
 */
export const fixtureSiteComponent = defineComponent({
  kind: 'source',
  name: 'fixture-site',
  description:
    'Serves the demo web site the crawlers read, there being no internet here. ' +
    "It has quote and history pages generated from the real monthly prices of vega-datasets' stocks.csv " +
    '(AAPL, AMZN, GOOG, IBM, MSFT, 2000-2010), market-data feeds serving the real daily S&P 500 bars of sp500-2000.csv as Stooq (/stooq/q/d/l/?s=^spx&i=d), ' +
    'Yahoo Finance (/yahoo/v7/finance/download/^GSPC) and Alpha Vantage (/alphavantage/query?function=TIME_SERIES_DAILY&symbol=SPX) do, ' +
    'each with a shape parameter for the ways such answers change (no-close, renamed, html, non-numeric, rate-limited, information), a robots.txt, misbehaving endpoints (throttling, flaky 5xx, oversized, mislabelled, redirect loops, slow) and an image search engine ' +
    'whose generated images exercise every verdict of image-validation. It publishes nothing itself: the market retriever and image-search fetch from it.',
  input: [],
  output: [],
  runs: 'millrace source fixture-site',
  config: [
    {
      name: 'MARKET_SITE_URL',
      type: 'url',
      default: 'http://127.0.0.1:8090',
      description: "the site is served on this URL's host and port",
      example: 'http://127.0.0.1:8091',
    },
  ],
  example: [
    'npx millrace source fixture-site',
    'curl -s 127.0.0.1:8090/robots.txt',
    "curl -s '127.0.0.1:8090/stooq/q/d/l/?s=%5Espx&i=d&d1=20200401&d2=20200417'",
  ].join('\n'),
});
