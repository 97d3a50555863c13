/**
 * Pages/s of the market source with the rate limits off, against the local fixture site (real
 * stocks.csv prices): the fetcher alone (got-scraping, robots.txt, fetch log to ClickHouse), the
 * retriever (fetch + gzip + Avro publish to market.pages.raw, one request per page as it runs),
 * and the parser on one core (cheerio, pages and quotes/s). Needs the local services
 * (`npm run infra:up && npm run provision`).
 * Run: node --import tsx bench/market-pages.ts [seconds per stage, default 5]
 */
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { FetchLog } from '../domain/crawl/fetch-log.ts';
import { Fetcher, type Fetched } from '../domain/crawl/fetcher.ts';
import { HISTORY_PAGE_SIZE, startFixtureSite } from '../connectors/sources/fixture-site/server.ts';
import { loadStocks } from '../connectors/sources/fixture-site/stocks.ts';
import { MarketRetriever } from '../connectors/sources/market-retriever/retriever.ts';
import { createClickHouse } from '../core/clickhouse.ts';
import { createKafka } from '../core/kafka.ts';
import { createLogger } from '../core/logger.ts';
import { AvroProducer } from '../core/producer.ts';
import { Registry } from '../core/schema-registry.ts';
import { parsePage } from '../domain/market/parse-page.ts';
import type { PageRecord } from '../schemas/records/market.ts';

const seconds = Number(process.argv[2] ?? '5');
const DAY_MS = 86_400_000;
const logger = createLogger('bench');
logger.level = 'warn';
const site = await startFixtureSite();
const clickhouse = createClickHouse();
const log = new FetchLog(clickhouse);
const producer = new AvroProducer(createKafka('millrace-bench'), new Registry());
await producer.connect();
const symbols = [...new Set(loadStocks().map((p) => p.symbol))];
const pagesPerSymbol = new Map(
  symbols.map((s) => [s, Math.ceil(loadStocks().filter((p) => p.symbol === s).length / HISTORY_PAGE_SIZE)]),
);
const run = Date.now();
const rows: [string, string, string][] = [];
const rate = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString('en');

// 1. the fetcher alone: every history page of every symbol, again and again under new crawl ids
const fetcher = new Fetcher({
  crawl: `bench-${run}`,
  log,
  logger,
  ratePerSecondPerHost: 0,
  allowedHosts: [new URL(site.url).hostname],
});
const fetched: Fetched[] = [];
let fetchedPages = 0;
let started = performance.now();
for (let round = 0; performance.now() - started < seconds * 1000; round++) {
  const urls = symbols.flatMap((s) =>
    Array.from({ length: pagesPerSymbol.get(s)! }, (_, i) => `${site.url}/history/${s}?page=${i + 1}`),
  );
  const pages = await Promise.all(urls.map((url) => fetcher.fetch(url, ['text/html'], `bench-${run}-${round}`)));
  if (round === 0) fetched.push(...pages);
  fetchedPages += pages.length;
}
rows.push([
  'fetcher (got-scraping, fetch log)',
  fetchedPages.toLocaleString('en'),
  `${rate(fetchedPages, performance.now() - started)} pages/s`,
]);

// 2. the retriever: fetch, compress and publish each page; a new day each round, so history is fetched again
const retriever = new MarketRetriever({ fetcher, log, producer, siteUrl: site.url, logger });
let published = 0;
started = performance.now();
for (let day = 1; performance.now() - started < seconds * 1000; day++) {
  const reports = await Promise.all(
    symbols.map((s) => retriever.retrieve(`bench-${run}`, s, new Date(run + day * DAY_MS))),
  );
  published += reports.reduce((a, r) => a + r.pages, 0);
}
rows.push([
  'retriever (fetch + gzip + Avro publish)',
  published.toLocaleString('en'),
  `${rate(published, performance.now() - started)} pages/s`,
]);

// 3. the parser's transform on one core
const records: PageRecord[] = fetched.map((page, i) => ({
  id: String(i),
  tenant_id: 'bench',
  event_time: run,
  source: 'bench',
  symbol: new URL(page.finalUrl).pathname.split('/')[2]!,
  kind: 'history',
  url: page.finalUrl,
  status: page.status,
  content_type: page.contentType,
  body_gzip: gzipSync(page.body),
}));
let parsed = 0;
let quotes = 0;
started = performance.now();
while (performance.now() - started < seconds * 1000) {
  for (const record of records) quotes += parsePage(record).length;
  parsed += records.length;
}
const parseMs = performance.now() - started;
rows.push([
  'parser (gunzip + cheerio)',
  parsed.toLocaleString('en'),
  `${rate(parsed, parseMs)} pages/s, ${rate(quotes, parseMs)} quotes/s`,
]);

await log.flush();
await Promise.all([producer.disconnect(), site.close(), clickhouse.close()]);
process.stdout.write(`${'stage'.padEnd(42)}${'pages'.padStart(10)}  rate\n`);
for (const [stage, n, r] of rows) process.stdout.write(`${stage.padEnd(42)}${n.padStart(10)}  ${r}\n`);
