/**
 * The market pipeline end to end against the fixture site (real stocks.csv prices): retriever ->
 * market.pages.raw -> parser -> market.quotes.raw -> features (state in a changelog) ->
 * market.quotes.enriched -> ClickHouse and Postgres -> the API. What lands in ClickHouse must equal
 * stocks.csv row for row, and the indicators a reference computed here from the file. A layout
 * change sends pages to the DLQ naming the selector; a fixed parser replayed over the stored pages
 * recovers their quotes without fetching again.
 */
import './allow-local-crawl.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../api/app.ts';
import { loadConfig } from '../../core/config.ts';
import { composeApi } from '../../api/compose.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { FetchLog } from '../../domain/crawl/fetch-log.ts';
import { Fetcher } from '../../domain/crawl/fetcher.ts';
import {
  historyPage,
  startFixtureSite,
  HISTORY_PAGE_SIZE,
  type FixtureSite,
} from '../../connectors/sources/fixture-site/server.ts';
import { loadStocks, type PricePoint } from '../../connectors/sources/fixture-site/stocks.ts';
import { MarketRetriever, PAGES_TOPIC } from '../../connectors/sources/market-retriever/retriever.ts';
import { startSink, withOverrides } from '../../connectors/sinks/index.ts';
import { indicatorsToClickHouse, latestToPostgres, quotesToClickHouse } from '../../connectors/sinks/market.ts';
import type { RunningSink } from '../../connectors/sinks/runtime/run.ts';
import type { SinkSpec } from '../../connectors/sinks/runtime/spec.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { sqlValue } from '../../core/clickhouse-sql.ts';
import { DLQ_HEADER } from '../../core/dlq.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { replayRange } from '../../core/replay-range.ts';
import { marketFeatures, marketParser } from '../../processors/market/index.ts';
import { SELECTORS } from '../../domain/market/parse-page.ts';
import { runProcessor, type RunningProcessor } from '../../processors/runtime/index.ts';
import { eventually } from '../../testkit/helpers.ts';
import { headerText } from '../../core/dlq.ts';
import { readCommitted } from '../../testkit/processor-helpers.ts';
import type { PageRecord } from '../../schemas/records/market.ts';

const run = randomBytes(3).toString('hex');
const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const log = createLogger('test');
const stocks = loadStocks();
const pricesOf = (symbol: string) => stocks.filter((p) => p.symbol === symbol);
const running: (RunningProcessor | RunningSink)[] = [];
let site: FixtureSite;
let tenantId: string;
let key: string;
let app: App;
let features: RunningProcessor;
const featuresSpec = () => ({
  ...marketFeatures({
    input: 'market.quotes.raw',
    output: 'market.quotes.enriched',
    state: `test.market_state_${run}.state`,
  }),
  name: `test-market-features-${run}`,
});

const auth = () => ({ authorization: `Bearer ${key}` });

/** Indicators straight from their definitions, over the whole series up to each bar. */
function reference(points: PricePoint[]) {
  const closes = points.map((p) => p.price);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ema = (n: number) => {
    const out: (number | null)[] = closes.map(() => null);
    for (let i = n - 1; i < closes.length; i++)
      out[i] = i === n - 1 ? mean(closes.slice(0, n)) : (2 / (n + 1)) * closes[i]! + (1 - 2 / (n + 1)) * out[i - 1]!;
    return out;
  };
  const ema20 = ema(20);
  const ema50 = ema(50);
  const gains: number[] = [];
  const losses: number[] = [];
  const rsi: (number | null)[] = closes.map(() => null);
  let g = 0;
  let l = 0;
  for (let i = 1; i < closes.length; i++) {
    gains.push(Math.max(closes[i]! - closes[i - 1]!, 0));
    losses.push(Math.max(closes[i - 1]! - closes[i]!, 0));
    if (i === 14) [g, l] = [mean(gains), mean(losses)];
    if (i > 14) [g, l] = [(g * 13 + gains.at(-1)!) / 14, (l * 13 + losses.at(-1)!) / 14];
    if (i >= 14) rsi[i] = l === 0 ? 100 : 100 - 100 / (1 + g / l);
  }
  return points.map((p, i) => {
    const returns = closes
      .slice(Math.max(0, i - 20), i + 1)
      .map((c, j, all) => (j === 0 ? 0 : c / all[j - 1]! - 1))
      .slice(1);
    const m = mean(returns);
    return {
      date: p.date,
      close: p.price,
      return_1: i === 0 ? null : closes[i]! / closes[i - 1]! - 1,
      sma20: i >= 19 ? mean(closes.slice(i - 19, i + 1)) : null,
      sma50: i >= 49 ? mean(closes.slice(i - 49, i + 1)) : null,
      ema20: ema20[i] ?? null,
      ema50: ema50[i] ?? null,
      volatility20: i >= 20 ? Math.sqrt(returns.reduce((a, r) => a + (r - m) ** 2, 0) / 19) : null,
      rsi14: rsi[i] ?? null,
    };
  });
}

const close = (a: number | null | undefined, b: number | null) =>
  a === null || a === undefined || b === null
    ? a === b || (a === undefined && b === null)
    : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

async function indicatorsInClickHouse(symbol: string): Promise<Record<string, number | null>[]> {
  const result = await clickhouse.query({
    query: `SELECT close, return_1, sma20, sma50, ema20, ema50, volatility20, rsi14 FROM market_indicators FINAL
            WHERE tenant_id = ${sqlValue(tenantId)} AND symbol = ${sqlValue(symbol)} ORDER BY ts`,
    format: 'JSONEachRow',
  });
  return result.json();
}

function assertIndicators(
  symbol: string,
  got: Record<string, number | string | null>[],
  want: ReturnType<typeof reference>,
): void {
  assert.equal(got.length, want.length, `${symbol}: one indicator row per bar`);
  for (const [i, w] of want.entries()) {
    for (const field of ['close', 'return_1', 'sma20', 'sma50', 'ema20', 'ema50', 'volatility20', 'rsi14'] as const) {
      assert.ok(
        close(got[i]![field] as number | null, w[field]),
        `${symbol} ${w.date} ${field}: got ${got[i]![field]}, reference ${w[field]}`,
      );
    }
  }
}

async function quotesInClickHouse(symbol: string): Promise<{ date: string; close: number }[]> {
  const result = await clickhouse.query({
    query: `SELECT toString(toDate(ts)) AS date, close FROM market_quotes FINAL WHERE tenant_id = ${sqlValue(tenantId)} AND symbol = ${sqlValue(symbol)} ORDER BY ts`,
    format: 'JSONEachRow',
  });
  return result.json();
}

before(async () => {
  site = await startFixtureSite();
  await Promise.all([producer.connect(), admin.connect()]);
  tenantId = (await createTenant(db, `market-${run}`)).id;
  key = (await createKey(db, tenantId, 'producer')).key;
  app = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin, db, clickhouse },
    {
      log,
      checks: {},
      topics: [],
      uploads: new Uploads(db, '/nonexistent', producer, log),
    },
  ).app;
  features = await runProcessor(featuresSpec());
  running.push(
    await runProcessor(
      marketParser({ input: PAGES_TOPIC, output: 'market.quotes.raw' }, { name: `test-market-parser-${run}` }),
    ),
    ...(await Promise.all(
      ([quotesToClickHouse, indicatorsToClickHouse, latestToPostgres] as SinkSpec<never>[]).map((spec) =>
        startSink(withOverrides(spec, { name: `test-${spec.name}-${run}`, batch: { maxMs: 200 } })),
      ),
    )),
  );
});
after(async () => {
  for (const r of [features, ...running]) await r.stop();
  await site.close();
  await Promise.all([producer.disconnect(), admin.disconnect()]);
  await Promise.all([db.end(), clickhouse.close()]);
});

describe('market: pages -> quotes -> indicators -> ClickHouse, Postgres and the API', () => {
  it(
    'lands stocks.csv row for row, with indicators equal to a reference, served by the API',
    { timeout: 300_000 },
    async () => {
      for (const symbol of ['MSFT', 'AAPL']) {
        const watch = await app.request('/v1/stocks', {
          method: 'POST',
          body: JSON.stringify({ symbol }),
          headers: { ...auth(), 'content-type': 'application/json' },
        });
        assert.equal(watch.status, 201);
      }
      const fetchLog = new FetchLog(clickhouse);
      const retriever = new MarketRetriever({
        fetcher: new Fetcher({ crawl: `market-pipeline-${run}`, log: fetchLog, logger: log, ratePerSecondPerHost: 0 }),
        log: fetchLog,
        producer,
        siteUrl: site.url,
        logger: log,
      });
      for (const symbol of ['MSFT', 'AAPL']) {
        const report = await retriever.retrieve(tenantId, symbol);
        assert.deepEqual(report.failed, []);
        assert.equal(
          report.pages,
          Math.ceil(pricesOf(symbol).length / HISTORY_PAGE_SIZE) + 1,
          'every history page and the quote page',
        );
      }

      for (const symbol of ['MSFT', 'AAPL']) {
        const expected = pricesOf(symbol).map((p) => ({ date: p.date, close: p.price }));
        const landed = await eventually(
          `${symbol} in ClickHouse`,
          async () => {
            const rows = await quotesInClickHouse(symbol);
            return rows.length >= expected.length ? rows : undefined;
          },
          120_000,
        );
        assert.deepEqual(landed, expected, `${symbol}: ClickHouse holds stocks.csv, row for row`);
      }

      const msft = reference(pricesOf('MSFT'));
      const points = await eventually(
        'MSFT indicators',
        async () => {
          const response = await app.request('/v1/stocks/MSFT/indicators?from=1999-01-01&to=2011-01-01', {
            headers: auth(),
          });
          const body = (await response.json()) as {
            latest: Record<string, number | string | null> | null;
            points: Record<string, number | null | string>[];
          };
          return body.points.length >= msft.length && body.latest?.date === msft.at(-1)!.date ? body : undefined;
        },
        120_000,
      );
      assertIndicators('MSFT', points.points, msft);
      assert.ok(
        points.latest && close(points.latest.rsi14 as number | null, msft.at(-1)!.rsi14),
        'Postgres holds the latest enriched quote',
      );
      assert.ok(
        msft.at(-1)!.rsi14 !== null && msft.at(-1)!.sma50 !== null,
        'the reference covers the long indicators too',
      );

      // weekly bars re-bucket the daily rollup; a month's bar sits in the week of its first day
      const weekly = (await (
        await app.request('/v1/stocks/AAPL/quotes?interval=week&from=2000-01-01&to=2010-12-31', { headers: auth() })
      ).json()) as { bars: { date: string; close: number; bars: number }[] };
      assert.equal(weekly.bars.length, pricesOf('AAPL').length);
      assert.deepEqual(
        weekly.bars.map((b) => b.close),
        pricesOf('AAPL').map((p) => p.price),
      );
      const daily = (await (
        await app.request('/v1/stocks/AAPL/quotes?from=2000-01-01&to=2000-12-31', { headers: auth() })
      ).json()) as { bars: { date: string; open: number; high: number; close: number }[] };
      assert.deepEqual(
        daily.bars.map((b) => b.date),
        pricesOf('AAPL')
          .filter((p) => p.date.startsWith('2000'))
          .map((p) => p.date),
      );
      assert.ok(
        daily.bars.every((b) => b.open === b.close && b.high === b.close),
        'close-only bars: open, high and low are the close',
      );

      assert.equal(
        (await app.request('/v1/stocks/GOOG/quotes', { headers: auth() })).status,
        404,
        'a symbol not watched',
      );
      const inverted = await app.request('/v1/stocks/MSFT/quotes?from=2010-01-01&to=2009-01-01', { headers: auth() });
      assert.equal(inverted.status, 400);
      assert.equal(((await inverted.json()) as { field: string }).field, 'from');
      assert.equal((await app.request('/v1/stocks/MSFT/quotes?interval=minute', { headers: auth() })).status, 400);

      // keyed by tenant and symbol as the catalogue declares: the runtime's default, the specs name no key
      for (const topic of ['market.quotes.raw', 'market.quotes.enriched']) {
        const keys = new Set(
          (await readCommitted(kafka, topic)).map((r) => r.key).filter((k) => k?.startsWith(`${tenantId}:`)),
        );
        assert.deepEqual([...keys].sort(), [`${tenantId}:AAPL`, `${tenantId}:MSFT`], topic);
      }
    },
  );

  it(
    'a changed layout goes to the DLQ naming the selector; a fixed parser replayed over the stored pages recovers the quotes',
    { timeout: 300_000 },
    async () => {
      // IBM's history as the site now serves it: the close column renamed
      const ibm = pricesOf('IBM');
      const pages = Math.ceil(ibm.length / HISTORY_PAGE_SIZE);
      const sent = await producer.send(
        PAGES_TOPIC,
        Array.from({ length: pages }, (_, i): { key: string; value: PageRecord } => ({
          key: 'IBM',
          value: {
            id: `layout-${run}-${i}`,
            tenant_id: tenantId,
            event_time: Date.now(),
            source: 'market-retriever',
            symbol: 'IBM',
            kind: 'history',
            url: `${site.url}/history/IBM?page=${i + 1}`,
            status: 200,
            content_type: 'text/html',
            body_gzip: gzipSync(historyPage('IBM', ibm, i + 1).replaceAll('class="close"', 'class="last"')),
          },
        })),
      );
      const dead = await eventually('the pages in the DLQ', async () => {
        const records = (await readCommitted(kafka, `${PAGES_TOPIC}.dlq`, 10_000)).filter((r) => r.key === 'IBM');
        const ours = records.filter(
          (r) =>
            headerText(r.headers)[DLQ_HEADER.sourceOffset] !== undefined &&
            Number(headerText(r.headers)[DLQ_HEADER.sourceOffset]) >= Number(sent[0]!.baseOffset),
        );
        return ours.length >= pages ? ours : undefined;
      });
      assert.match(
        headerText(dead[0]!.headers)[DLQ_HEADER.errorMessage] ?? '',
        /missing selector "#history tbody tr td\.close"/,
      );
      assert.equal(headerText(dead[0]!.headers)[DLQ_HEADER.errorClass], 'PageLayoutError');
      assert.deepEqual(await quotesInClickHouse('IBM'), [], 'no zero prices, no quotes at all');

      const fetchedBefore = site.requests.length;
      const range = await replayRange(kafka, PAGES_TOPIC, sent[0]!.baseOffset!, sent[0]!.partition);
      await new Promise<void>((resolve, reject) => {
        const fixed = marketParser(
          { input: PAGES_TOPIC, output: 'market.quotes.raw' },
          { name: `test-market-parser-fixed-${run}`, selectors: { ...SELECTORS, historyClose: 'td.last' } },
        );
        runProcessor(fixed, { replay: { ...range, onDone: resolve } }).then((p) => running.push(p), reject);
      });
      const landed = await eventually(
        'IBM in ClickHouse',
        async () => {
          const rows = await quotesInClickHouse('IBM');
          return rows.length >= ibm.length ? rows : undefined;
        },
        120_000,
      );
      assert.deepEqual(
        landed,
        ibm.map((p) => ({ date: p.date, close: p.price })),
        'the replay recovered every quote',
      );
      assert.equal(site.requests.length, fetchedBefore, 'without fetching again');
    },
  );

  it(
    'a restarted features processor resumes from its changelog: indicators across the restart equal the reference',
    { timeout: 300_000 },
    async () => {
      const amzn = pricesOf('AMZN');
      const produce = (points: PricePoint[]) =>
        producer.send(
          'market.quotes.raw',
          points.map((p) => ({
            key: `${tenantId}:AMZN`,
            value: {
              id: `${tenantId}:AMZN:${Date.parse(p.date)}`,
              tenant_id: tenantId,
              event_time: Date.now(),
              source: 'test',
              symbol: 'AMZN',
              ts: Date.parse(p.date),
              open: null,
              high: null,
              low: null,
              close: p.price,
              volume: null,
              source_url: null,
            },
          })),
        );
      const half = 60;
      await produce(amzn.slice(0, half));
      await eventually(
        'the first half enriched',
        async () => ((await indicatorsInClickHouse('AMZN')).length >= half ? true : undefined),
        120_000,
      );

      await features.stop(); // the window of the last 50 closes lives on only in the changelog
      features = await runProcessor(featuresSpec());
      await produce(amzn.slice(half));
      const rows = await eventually(
        'every bar enriched',
        async () => {
          const got = await indicatorsInClickHouse('AMZN');
          return got.length >= amzn.length ? got : undefined;
        },
        120_000,
      );
      assertIndicators('AMZN', rows, reference(amzn));
    },
  );
});
