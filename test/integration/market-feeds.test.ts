/**
 * Real market-data feeds end to end against the fixture site, which serves the real daily S&P 500
 * bars of sp500-2000.csv in Stooq's CSV, Yahoo Finance's CSV and Alpha Vantage's JSON: the watch
 * list API stores each symbol's feed, the retriever fetches it (reading the watch list as its
 * schedule does), market-parser turns it into bars on market.quotes.raw and the sink lands them in
 * ClickHouse, equal to the file's open, high, low, close and volume. A response whose shape changed
 * (a column or key missing or renamed, "No data", a rate-limit note, an HTML page, a price that is
 * not a number) goes to the DLQ naming what is missing, and no quote of it lands, zero or other.
 */
import './allow-local-crawl.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../api/app.ts';
import { composeApi } from '../../api/compose.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { startFixtureSite, type FixtureSite } from '../../connectors/sources/fixture-site/server.ts';
import { FEED_SYMBOLS, loadDailyBars, type DailyBar } from '../../connectors/sources/fixture-site/feeds.ts';
import { MarketRetriever, PAGES_TOPIC } from '../../connectors/sources/market-retriever/retriever.ts';
import { watchList } from '../../connectors/sources/market-retriever/schedule.ts';
import { startSink, withOverrides } from '../../connectors/sinks/index.ts';
import { quotesToClickHouse } from '../../connectors/sinks/market.ts';
import type { RunningSink } from '../../connectors/sinks/runtime/run.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { sqlValue } from '../../core/clickhouse-sql.ts';
import { loadConfig } from '../../core/config.ts';
import { DLQ_HEADER, headerText } from '../../core/dlq.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { FetchLog } from '../../domain/crawl/fetch-log.ts';
import { Fetcher } from '../../domain/crawl/fetcher.ts';
import { marketParser } from '../../processors/market/index.ts';
import { runProcessor, type RunningProcessor } from '../../processors/runtime/index.ts';
import { eventually } from '../../testkit/helpers.ts';
import { readCommitted } from '../../testkit/processor-helpers.ts';

const run = randomBytes(3).toString('hex');
const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const log = createLogger('test');
const running: (RunningProcessor | RunningSink)[] = [];
let site: FixtureSite;
let tenantId: string;
let key: string;
let app: App;

const bars = loadDailyBars();
const between = (from: string, to: string) => bars.filter((b) => b.date >= from && b.date <= to);
const epoch = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

/** What each feed must land: its bars as the provider writes them (Alpha Vantage: four decimals). */
const exact = (b: DailyBar) => ({
  date: b.date,
  open: Number(b.open),
  high: Number(b.high),
  low: Number(b.low),
  close: Number(b.close),
  volume: Number(b.volume),
});
const fourDecimals = (b: DailyBar) => {
  const four = (v: string) => Number(Number(v).toFixed(4));
  return { ...exact(b), open: four(b.open), high: four(b.high), low: four(b.low), close: four(b.close) };
};

const watch = (symbol: string, feed: unknown) =>
  app.request('/v1/stocks', {
    method: 'POST',
    body: JSON.stringify({ symbol, feed }),
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  });

async function quotesInClickHouse(symbol: string) {
  const result = await clickhouse.query({
    query: `SELECT toString(toDate(ts)) AS date, open, high, low, close, volume FROM market_quotes FINAL
            WHERE tenant_id = ${sqlValue(tenantId)} AND symbol = ${sqlValue(symbol)} ORDER BY ts`,
    format: 'JSONEachRow',
  });
  return (await result.json<Record<string, string | number>>()).map((r) => ({ ...r, volume: Number(r.volume) }));
}

/** Watches the symbols through the API, then fetches each as the schedule would: its feed from the watch list. */
async function retrieveAll(feeds: Record<string, unknown>): Promise<void> {
  for (const [symbol, feed] of Object.entries(feeds)) assert.equal((await watch(symbol, feed)).status, 201, symbol);
  const fetchLog = new FetchLog(clickhouse);
  const retriever = new MarketRetriever({
    fetcher: new Fetcher({ crawl: `market-feeds-${run}`, log: fetchLog, logger: log, ratePerSecondPerHost: 0 }),
    log: fetchLog,
    producer,
    siteUrl: site.url,
    logger: log,
  });
  const watched = (await watchList(db)).filter((w) => w.tenant_id === tenantId && w.symbol in feeds);
  assert.equal(watched.length, Object.keys(feeds).length);
  for (const w of watched) {
    assert.ok(w.feed, `${w.symbol} has its feed in the watch list`);
    const report = await retriever.retrieve(w.tenant_id, w.symbol, new Date(), w.feed);
    assert.deepEqual([report.pages, report.failed], [1, []], w.symbol);
  }
}

before(async () => {
  site = await startFixtureSite();
  await Promise.all([producer.connect(), admin.connect()]);
  tenantId = (await createTenant(db, `feeds-${run}`)).id;
  key = (await createKey(db, tenantId, 'producer')).key;
  app = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin, db, clickhouse },
    { log, checks: {}, topics: [], uploads: new Uploads(db, '/nonexistent', producer, log) },
  ).app;
  running.push(
    await runProcessor(
      marketParser({ input: PAGES_TOPIC, output: 'market.quotes.raw' }, { name: `test-feeds-parser-${run}` }),
    ),
    await startSink(withOverrides(quotesToClickHouse, { name: `test-feeds-quotes-${run}`, batch: { maxMs: 200 } })),
  );
});
after(async () => {
  for (const r of running) await r.stop();
  await site.close();
  await Promise.all([producer.disconnect(), admin.disconnect()]);
  await Promise.all([db.end(), clickhouse.close()]);
});

describe('market feeds: Stooq CSV, Yahoo CSV, Alpha Vantage JSON -> quotes in ClickHouse', () => {
  it('the watch list validates a feed and keeps an API key out of its answers', async () => {
    const refused = async (feed: unknown) => {
      const response = await watch('NOPE', feed);
      return [response.status, ((await response.json()) as { field?: string }).field];
    };
    assert.deepEqual(await refused({ format: 'bloomberg_terminal', url: `${site.url}/x` }), [400, 'feed.format']);
    assert.deepEqual(await refused({ format: 'stooq_csv' }), [400, 'feed.url']);
    assert.deepEqual(await refused({ format: 'demo', url: `${site.url}/x` }), [400, 'feed.url']);
    assert.deepEqual(await refused({ format: 'yahoo_csv', url: 'ftp://example.com/x.csv' }), [400, 'feed.url']);
    const response = await watch('KEYED', {
      format: 'alpha_vantage_json',
      url: `${site.url}/alphavantage/query?function=TIME_SERIES_DAILY&symbol=SPX&apikey=SECRET123`,
    });
    assert.equal(response.status, 201);
    const list = (await (await app.request('/v1/stocks', { headers: { authorization: `Bearer ${key}` } })).json()) as {
      stocks: { symbol: string; feed: { format: string; url: string | null } }[];
    };
    const keyed = list.stocks.find((s) => s.symbol === 'KEYED')!;
    assert.equal(keyed.feed.format, 'alpha_vantage_json');
    assert.ok(!JSON.stringify(list).includes('SECRET123'), 'the key is not shown back');
    assert.match(keyed.feed.url ?? '', /apikey=\*\*\*/);
    await db.query("DELETE FROM market_symbols WHERE tenant_id = $1 AND symbol = 'KEYED'", [tenantId]);
  });

  it(
    "each provider's real sample lands bar for bar, with open, high, low and volume",
    { timeout: 300_000 },
    async () => {
      const stooq = between('2008-09-01', '2008-11-28');
      const yahoo = between('2020-02-03', '2020-04-17');
      const alpha = bars.slice(-100); // outputsize=compact: the latest 100 days
      await retrieveAll({
        SPXS: {
          format: 'stooq_csv',
          url: `${site.url}/stooq/q/d/l/?s=${encodeURIComponent(FEED_SYMBOLS.stooq)}&i=d&d1=20080901&d2=20081128`,
        },
        SPXY: {
          format: 'yahoo_csv',
          url: `${site.url}/yahoo/v7/finance/download/${encodeURIComponent(FEED_SYMBOLS.yahoo)}?period1=${epoch('2020-02-03')}&period2=${epoch('2020-04-17')}&interval=1d&events=history`,
        },
        SPXA: {
          format: 'alpha_vantage_json',
          url: `${site.url}/alphavantage/query?function=TIME_SERIES_DAILY&symbol=${FEED_SYMBOLS.alphaVantage}&outputsize=compact&apikey=demo`,
        },
      });
      for (const [symbol, expected] of [
        ['SPXS', stooq.map(exact)],
        ['SPXY', yahoo.map(exact)],
        ['SPXA', alpha.map(fourDecimals)],
      ] as const) {
        const landed = await eventually(
          `${symbol} in ClickHouse`,
          async () => {
            const rows = await quotesInClickHouse(symbol);
            return rows.length >= expected.length ? rows : undefined;
          },
          120_000,
        );
        assert.deepEqual(landed, expected, `${symbol}: the feed's bars, row for row`);
      }
      assert.ok(stooq.length > 50 && yahoo.length > 50, 'samples of some length');
    },
  );

  it("a feed may not reach another port of the demo site's host (its database, say)", async () => {
    const fetchLog = new FetchLog(clickhouse);
    const retriever = new MarketRetriever({
      fetcher: new Fetcher({ crawl: `market-feeds-${run}`, log: fetchLog, logger: log, ratePerSecondPerHost: 0 }),
      log: fetchLog,
      producer,
      siteUrl: site.url,
      logger: log,
    });
    const served = site.requests.length;
    const clickhouseHttp = 'http://127.0.0.1:8123/?query=SELECT%20*%20FROM%20millrace.market_quotes%20FORMAT%20CSV';
    const report = await retriever.retrieve(tenantId, 'SSRF', new Date(), { format: 'stooq_csv', url: clickhouseHttp });
    assert.deepEqual(report.pages, 0);
    assert.deepEqual(
      report.failed.map((f) => [f.outcome, f.message]),
      [['refused', `${clickhouseHttp}: 127.0.0.1 is allowed only at ${site.url}`]],
    );
    assert.equal(site.requests.length, served);
  });

  it(
    'a response that changed shape goes to the DLQ naming what is missing, and lands no quote',
    { timeout: 300_000 },
    async () => {
      const stooqUrl = (extra: string) => `${site.url}/stooq/q/d/l/?s=%5Espx&i=d&d1=20080901&d2=20080930${extra}`;
      const yahooUrl = (extra: string) =>
        `${site.url}/yahoo/v7/finance/download/%5EGSPC?period1=${epoch('2008-09-01')}&period2=${epoch('2008-09-30')}&interval=1d${extra}`;
      const avUrl = (extra: string) =>
        `${site.url}/alphavantage/query?function=TIME_SERIES_DAILY&symbol=SPX&apikey=demo${extra}`;
      const cases: Record<string, { feed: { format: string; url: string }; reason: RegExp }> = {
        STQNOCLOSE: {
          feed: { format: 'stooq_csv', url: stooqUrl('&shape=no-close') },
          reason: /the Stooq CSV has no column Close \(its header: Date,Open,High,Low,Volume\)/,
        },
        STQNODATA: {
          feed: { format: 'stooq_csv', url: stooqUrl('').replace('%5Espx', 'nosuch.us') },
          reason: /not a Stooq CSV: the first line is "No data", expected the header Date,Open,High,Low,Close,Volume/,
        },
        STQDASH: {
          feed: { format: 'stooq_csv', url: stooqUrl('&shape=non-numeric') },
          reason: /row 2 \(2008-09-03\) Close is "-", not a price/,
        },
        YHORENAMED: {
          feed: { format: 'yahoo_csv', url: yahooUrl('&shape=renamed') },
          reason: /the Yahoo Finance CSV has no column Close \(its header: Date,Open,High,Low,Last,Adj Close,Volume\)/,
        },
        YHOHTML: {
          feed: { format: 'yahoo_csv', url: yahooUrl('&shape=html') },
          reason: /an HTML page \("<!DOCTYPE html>.*"\) instead of the Yahoo Finance CSV/,
        },
        YHONULL: {
          feed: { format: 'yahoo_csv', url: yahooUrl('&shape=non-numeric') },
          reason: /row 2 \(2008-09-03\) Close is "null", not a price/,
        },
        AVNOTE: {
          feed: { format: 'alpha_vantage_json', url: avUrl('&shape=rate-limited') },
          reason:
            /no "Time Series \(Daily\)"; instead "Note": "Thank you for using Alpha Vantage! Our standard API call frequency/,
        },
        AVINFO: {
          feed: { format: 'alpha_vantage_json', url: avUrl('&shape=information') },
          reason:
            /no "Time Series \(Daily\)"; instead "Information": "Thank you for using Alpha Vantage! Our standard API rate limit/,
        },
        AVRENAMED: {
          feed: { format: 'alpha_vantage_json', url: avUrl('&shape=renamed') },
          reason: /no "Time Series \(Daily\)" object \(its keys: Meta Data, Time Series Daily\)/,
        },
        AVNOCLOSE: {
          feed: { format: 'alpha_vantage_json', url: avUrl('&shape=no-close') },
          reason:
            /"Time Series \(Daily\)"\."2020-04-17" has no "4\. close" \(its keys: 1\. open, 2\. high, 3\. low, 5\. volume\)/,
        },
        AVNA: {
          feed: { format: 'alpha_vantage_json', url: avUrl('&shape=non-numeric') },
          reason: /"Time Series \(Daily\)"\."2020-04-16"\."4\. close" is "N\/A", not a price/,
        },
      };
      const ends = new Map((await admin.fetchTopicOffsets(`${PAGES_TOPIC}.dlq`)).map((p) => [p.partition, p.high]));
      await retrieveAll(Object.fromEntries(Object.entries(cases).map(([symbol, c]) => [symbol, c.feed])));
      const dead = await eventually(
        'every changed response in the DLQ',
        async () => {
          const records = (await readCommitted(kafka, `${PAGES_TOPIC}.dlq`, 10_000, ends)).filter(
            (r) => r.key !== null && r.key in cases,
          );
          return new Set(records.map((r) => r.key)).size >= Object.keys(cases).length ? records : undefined;
        },
        120_000,
      );
      for (const [symbol, { reason }] of Object.entries(cases)) {
        const headers = headerText(dead.find((r) => r.key === symbol)!.headers);
        assert.equal(headers[DLQ_HEADER.errorClass], 'FeedShapeError', symbol);
        assert.match(headers[DLQ_HEADER.errorMessage] ?? '', reason, symbol);
      }
      for (const symbol of Object.keys(cases))
        assert.deepEqual(await quotesInClickHouse(symbol), [], `${symbol}: no quote at all, zero or other`);
    },
  );
});
