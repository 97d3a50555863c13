import './allow-local-crawl.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTenant } from '../../api/auth/accounts.ts';
import { FetchLog } from '../../domain/crawl/fetch-log.ts';
import { Fetcher } from '../../domain/crawl/fetcher.ts';
import { startFixtureSite, type FixtureSite } from '../../connectors/sources/fixture-site/server.ts';
import { loadStocks } from '../../connectors/sources/fixture-site/stocks.ts';
import { MarketRetriever, PAGES_TOPIC } from '../../connectors/sources/market-retriever/retriever.ts';
import { scheduleRetriever } from '../../connectors/sources/market-retriever/schedule.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { parsePage } from '../../domain/market/parse-page.ts';
import { eventually } from '../../testkit/helpers.ts';
import type { PageRecord } from '../../schemas/records/market.ts';

const kafka = createKafka('millrace-test');
const registry = new Registry();
const producer = new AvroProducer(kafka, registry);
const clickhouse = createClickHouse();
const db = createPostgresPool(2);
const log = new FetchLog(clickhouse);
const tenant = `m-${randomBytes(3).toString('hex')}`;
let site: FixtureSite;
let retriever: MarketRetriever;

/** Pages of this test's tenant on market.pages.raw, read from the beginning. */
async function pagesOf(predicate: (p: PageRecord) => boolean, atLeast: number): Promise<PageRecord[]> {
  const pages: PageRecord[] = [];
  const consumer = kafka.consumer({ groupId: `test-pages-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topic: PAGES_TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const { value } = await registry.decode<PageRecord>(message.value);
      if (value.tenant_id === tenant && predicate(value)) pages.push(value);
    },
  });
  try {
    await eventually(`${atLeast} pages`, () => (pages.length >= atLeast ? true : undefined));
    await new Promise((r) => setTimeout(r, 500)); // let any extra page show up
  } finally {
    await consumer.disconnect();
  }
  return pages;
}

before(async () => {
  site = await startFixtureSite();
  await producer.connect();
  await createTenant(db, tenant);
  const fetcher = new Fetcher({ crawl: 'market-test', log, logger: createLogger('test'), ratePerSecondPerHost: 0 });
  retriever = new MarketRetriever({ fetcher, log, producer, siteUrl: site.url, logger: createLogger('test') });
});
after(async () => {
  await site.close();
  await producer.disconnect();
  await Promise.all([clickhouse.close(), db.end()]);
});

describe('market retriever', () => {
  it('publishes the quote page and every history page; parsed, they are stocks.csv row for row', async () => {
    const report = await retriever.retrieve(tenant, 'GOOG');
    const goog = loadStocks().filter((p) => p.symbol === 'GOOG');
    const historyPages = Math.ceil(goog.length / 24);
    assert.deepEqual(report, { pages: 1 + historyPages, failed: [] });

    const pages = await pagesOf((p) => p.symbol === 'GOOG', 1 + historyPages);
    assert.equal(pages.length, 1 + historyPages);
    const history = pages
      .filter((p) => p.kind === 'history')
      .flatMap((p) => parsePage(p))
      .sort((a, b) => a.ts - b.ts);
    assert.deepEqual(
      history.map((q) => [new Date(q.ts).toISOString().slice(0, 10), q.close]),
      goog.map((p) => [p.date, p.price]),
    );
    const [quote] = parsePage(pages.find((p) => p.kind === 'quote')!);
    assert.equal(quote?.close, goog.at(-1)!.price);
  });

  it('a second run the same day fetches the quote page again but no history page', async () => {
    const before = site.requests.length;
    const report = await retriever.retrieve(tenant, 'GOOG');
    assert.deepEqual(report, { pages: 1, failed: [] });
    assert.deepEqual(
      site.requests.slice(before).map((r) => r.path),
      ['/quotes/GOOG'],
    );
  });

  it('an unknown symbol is reported, not published', async () => {
    const report = await retriever.retrieve(tenant, 'ZZZZ');
    assert.equal(report.pages, 0);
    assert.deepEqual(
      report.failed.map((f) => f.outcome),
      ['http_error', 'http_error'],
    );
  });

  it('the schedule retrieves every symbol on the watch list, picking up additions', async () => {
    const stop = scheduleRetriever(db, retriever, createLogger('test'), 1000);
    try {
      await db.query("INSERT INTO market_symbols (tenant_id, symbol, interval_s) VALUES ($1, 'AMZN', 3600)", [tenant]);
      const pages = await pagesOf((p) => p.symbol === 'AMZN' && p.kind === 'quote', 1);
      assert.equal(pages[0]?.status, 200);
    } finally {
      stop.stop();
    }
  });
});
