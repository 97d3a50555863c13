import './allow-local-crawl.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { createLogger } from '../../core/logger.ts';
import { runCrawl } from '../../connectors/sources/crawler/crawl.ts';
import { FetchLog } from '../../domain/crawl/fetch-log.ts';
import { FetchError, Fetcher, type FetcherOptions } from '../../domain/crawl/fetcher.ts';
import {
  HISTORY_PAGE_SIZE,
  SLOW_CRAWL_DELAY_S,
  startFixtureSite,
  type FixtureSite,
} from '../../connectors/sources/fixture-site/server.ts';
import { loadStocks } from '../../connectors/sources/fixture-site/stocks.ts';

const clickhouse = createClickHouse();
const log = new FetchLog(clickhouse);
let site: FixtureSite;
const crawlId = () => `test-${randomBytes(4).toString('hex')}`;
const fetcher = (crawl: string, options: Partial<FetcherOptions> = {}) =>
  new Fetcher({ crawl, log, logger: createLogger('test'), backoffMs: 50, ...options });

async function logRows(crawl: string) {
  await log.flush();
  const result = await clickhouse.query({
    query: `SELECT url, status, outcome, attempt, bytes FROM fetch_log WHERE crawl = ${quoteString(crawl)} ORDER BY fetched_at, attempt`,
    format: 'JSONEachRow',
  });
  return result.json<{ url: string; status: number; outcome: string; attempt: number; bytes: string }>();
}

before(async () => {
  site = await startFixtureSite();
});
after(async () => {
  await site.close();
  await clickhouse.close();
});

describe('the crawler fetcher against the fixture site', () => {
  it('fetches a page and logs it (url, status, bytes, ms) in ClickHouse', async () => {
    const crawl = crawlId();
    const page = await fetcher(crawl).fetch(`${site.url}/quotes/MSFT`);
    assert.equal(page.status, 200);
    const last = loadStocks()
      .filter((p) => p.symbol === 'MSFT')
      .at(-1)!;
    assert.ok(
      page.body.toString().includes(`data-field="close">${last.price.toFixed(2)}<`),
      'the last MSFT price of stocks.csv',
    );
    const rows = await logRows(crawl);
    const quote = rows.find((r) => r.url.endsWith('/quotes/MSFT'));
    assert.deepEqual(
      { ...quote, bytes: Number(quote?.bytes) },
      { url: `${site.url}/quotes/MSFT`, status: 200, outcome: 'ok', attempt: 1, bytes: page.body.length },
    );
  });

  it('honours robots.txt, fetched once per origin', async () => {
    const crawl = crawlId();
    const f = fetcher(crawl);
    const before = site.requests.filter((r) => r.path === '/robots.txt').length;
    await assert.rejects(
      f.fetch(`${site.url}/private/secrets`),
      (e: unknown) => e instanceof FetchError && e.outcome === 'robots',
    );
    await f.fetch(`${site.url}/quotes/IBM`);
    assert.equal(site.requests.filter((r) => r.path === '/robots.txt').length - before, 1);
    assert.ok(!site.requests.some((r) => r.path.startsWith('/private')), 'never requested');
  });

  it('sends the configured user agent (CRAWL_USER_AGENT) on every request, robots.txt included', async () => {
    const agent = loadConfig().CRAWL_USER_AGENT;
    assert.equal(agent, process.env.CRAWL_USER_AGENT, 'read from the environment');
    const from = site.requests.length;
    const f = fetcher(crawlId());
    await f.fetch(`${site.url}/quotes/IBM`);
    await f.fetch(`${site.url}/quotes/MSFT`);
    const seen = site.requests.slice(from);
    assert.deepEqual(
      seen.map((r) => r.path),
      ['/robots.txt', '/quotes/IBM', '/quotes/MSFT'],
    );
    assert.deepEqual(new Set(seen.map((r) => r.userAgent)), new Set([agent]));
  });

  it("matches robots.txt's groups against the user agent", async () => {
    const slow = fetcher(crawlId(), { userAgent: 'MillraceSlow/2.0 (+https://millrace.dev/bot)' });
    await assert.rejects(
      slow.fetch(`${site.url}/history/AAPL?page=1`),
      (e: unknown) => e instanceof FetchError && e.outcome === 'robots',
    );
    assert.equal(
      (await fetcher(crawlId()).fetch(`${site.url}/history/AAPL?page=1`)).status,
      200,
      'the * group allows it',
    );
  });

  it(
    "waits robots.txt's Crawl-delay between requests to a host, even with no rate limit",
    { timeout: 30_000 },
    async () => {
      const crawl = crawlId();
      const slow = fetcher(crawl, {
        userAgent: 'MillraceSlow/2.0',
        ratePerSecondPerHost: 0,
        concurrencyPerHost: 4,
      });
      const from = site.requests.length;
      await Promise.all(['IBM', 'MSFT', 'AAPL'].map((s) => slow.fetch(`${site.url}/quotes/${s}`)));
      await log.flush();
      const result = await clickhouse.query({
        query: `SELECT url, toUnixTimestamp(fetched_at) AS at FROM fetch_log WHERE crawl = ${quoteString(crawl)} AND url LIKE '%/quotes/%' ORDER BY at`,
        format: 'JSONEachRow',
      });
      const logged = (await result.json<{ url: string; at: number | string }>()).map((r) => Number(r.at));
      assert.equal(logged.length, 3);
      // the log keeps whole seconds: starts ≥ 2 s apart are logged at least 1 s apart
      const loggedGaps = logged.slice(1).map((t, i) => t - logged[i]!);
      assert.ok(
        loggedGaps.every((g) => g >= SLOW_CRAWL_DELAY_S - 1),
        `logged gaps ${loggedGaps.join(',')} s, Crawl-delay ${SLOW_CRAWL_DELAY_S}`,
      );
      const arrivals = site.requests
        .slice(from)
        .filter((r) => r.path.startsWith('/quotes/'))
        .map((r) => r.at);
      const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
      assert.ok(
        gaps.every((g) => g >= SLOW_CRAWL_DELAY_S * 1000 - 50),
        `arrival gaps ${gaps.join(',')} ms, Crawl-delay ${SLOW_CRAWL_DELAY_S} s`,
      );
    },
  );

  it('retries 429 after Retry-After and 5xx with back-off, logging each attempt', async () => {
    const crawl = crawlId();
    const f = fetcher(crawl);
    const throttled = `${site.url}/throttled/${crawl}`;
    const started = Date.now();
    assert.equal((await f.fetch(throttled)).status, 200);
    assert.ok(Date.now() - started >= 900, 'waited for Retry-After: 1');
    assert.equal((await f.fetch(`${site.url}/flaky/${crawl}?fail=2`)).status, 200);
    const rows = await logRows(crawl);
    assert.deepEqual(
      rows.filter((r) => r.url.includes('/flaky/')).map((r) => [r.status, r.outcome, r.attempt]),
      [
        [503, 'http_error', 1],
        [503, 'http_error', 2],
        [200, 'ok', 3],
      ],
    );
    assert.deepEqual(
      rows.filter((r) => r.url.includes('/throttled/')).map((r) => r.status),
      [429, 200],
    );
  });

  it('gives up after the retries with the last reason', async () => {
    const f = fetcher(crawlId(), { retries: 2 });
    await assert.rejects(
      f.fetch(`${site.url}/flaky/${crawlId()}?fail=10`),
      (e: unknown) => e instanceof FetchError && e.outcome === 'http_error' && e.status === 503,
    );
  });

  it('refuses oversized, mislabelled and endlessly redirecting responses', async () => {
    const f = fetcher(crawlId(), { maxBytes: 1024 * 1024, maxRedirects: 3 });
    await assert.rejects(
      f.fetch(`${site.url}/big`),
      (e: unknown) => e instanceof FetchError && e.outcome === 'too_large',
    );
    await assert.rejects(
      f.fetch(`${site.url}/mislabelled`),
      (e: unknown) => e instanceof FetchError && e.outcome === 'content_type' && /image\/png/.test(e.message),
    );
    await assert.rejects(
      f.fetch(`${site.url}/loop`),
      (e: unknown) => e instanceof FetchError && e.outcome === 'redirects',
    );
  });

  it('keeps to the per-host concurrency and rate limits', async () => {
    const f = fetcher(crawlId(), { concurrencyPerHost: 2, ratePerSecondPerHost: 20 });
    await f.fetch(`${site.url}/quotes/AAPL`); // robots.txt out of the way
    const from = site.requests.length;
    const peakBefore = site.maxInFlight();
    await Promise.all(Array.from({ length: 10 }, (_, i) => f.fetch(`${site.url}/slow?ms=150&i=${i}`)));
    const starts = site.requests.slice(from).map((r) => r.at);
    assert.ok(site.maxInFlight() <= Math.max(2, peakBefore), `at most 2 in flight, saw ${site.maxInFlight()}`);
    // the server sees arrivals, which jitter under load: any three starts span two 50 ms slots (less the jitter)
    const spans = starts.slice(2).map((t, i) => t - starts[i]!);
    assert.ok(
      spans.every((g) => g >= 80),
      `20/s: no three starts within 80 ms, saw spans ${spans.join(',')}`,
    );
  });
});

describe('a resumable crawl', () => {
  it('fetches every history page; a restart fetches none of them again', async () => {
    const crawl = crawlId();
    const symbols = ['AAPL', 'GOOG'];
    const expectedPages = symbols.reduce(
      (n, s) => n + Math.ceil(loadStocks().filter((p) => p.symbol === s).length / HISTORY_PAGE_SIZE),
      0,
    );
    const onPage = async (page: { body: Buffer; finalUrl: string }) => {
      const next = /class="next" href="([^"]+)"/.exec(page.body.toString())?.[1];
      return next ? [new URL(next, page.finalUrl).toString()] : [];
    };
    const seeds = symbols.map((s) => `${site.url}/history/${s}?page=1`);
    const first = await runCrawl({ crawl, fetcher: fetcher(crawl, { ratePerSecondPerHost: 0 }), log, seeds, onPage });
    assert.deepEqual(first, { fetched: expectedPages, skipped: 0, failed: [] });

    const requestsBefore = site.requests.length;
    const again = await runCrawl({ crawl, fetcher: fetcher(crawl, { ratePerSecondPerHost: 0 }), log, seeds, onPage });
    assert.deepEqual(again, { fetched: 0, skipped: 2, failed: [] });
    assert.equal(
      site.requests.filter((r, i) => i >= requestsBefore && r.path.startsWith('/history')).length,
      0,
      'nothing fetched again',
    );
  });

  it('reports failures with their reason while the rest is fetched', async () => {
    const crawl = crawlId();
    const report = await runCrawl({
      crawl,
      fetcher: fetcher(crawl, { retries: 1 }),
      log,
      seeds: [`${site.url}/quotes/IBM`, `${site.url}/quotes/NOPE`, `${site.url}/private/x`],
      onPage: async () => [],
    });
    assert.equal(report.fetched, 1);
    assert.deepEqual(report.failed.map((f) => f.outcome).sort(), ['http_error', 'robots']);
  });
});
