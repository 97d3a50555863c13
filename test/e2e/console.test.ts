/**
 * The console in headless Chromium (Debian's, installed on first use) against the real API server,
 * with data produced during the test: log in with a key, see a finance score arrive live, follow an
 * upload, chart a symbol's candles with overlays and RSI, chart an analytics view as lines and bars,
 * inspect dead letters and redrive two. Each page must show what the API answers, charts must draw
 * axes and legends, nothing may be logged as an error (a CSP violation would be), and every page
 * leaves a screenshot.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { toDlqMessage } from '../../core/dlq.ts';
import { createKafka } from '../../core/kafka.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { step, type IndicatorState } from '../../processors/market/indicators.ts';
import { dlqTopicOf, valueSubjectOf } from '../../schemas/topic-spec.ts';
import {
  assertDrawn,
  chartState,
  openConsole,
  shown,
  valuesAtLastPoint,
  type ConsoleBrowser,
} from '../../testkit/console-browser.ts';
import { flights, vegaDataFile } from '../../testkit/helpers.ts';

const run = randomBytes(3).toString('hex');
const tenant = `console-${run}`;
const startedAt = Math.floor(Date.now() / 1000) * 1000 - 1000; // whole seconds: a datetime-local input's precision
const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(2);
const clickhouse = createClickHouse();
const producer = new AvroProducer(kafka, registry);
let ui: ConsoleBrowser;
let baseUrl: string;
let key: string;
let page: Page;

const call = (route: string, init: RequestInit = {}) =>
  fetch(`${baseUrl}${route}`, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } });

async function apiJson<T>(route: string): Promise<T> {
  const response = await call(route);
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as T;
}

const scoreRow = (i: number, periodEnd: string, probability: number) => ({
  id: `${run}-chart-${i}`,
  tenant_id: tenant,
  company_id: `chart-co-${i}`,
  period_end: periodEnd,
  kind: 'annual',
  ohlson_probability: probability,
  zmijewski_probability: probability,
  altman_probability: probability,
  altman_z: 2,
  altman_zone: 'grey',
  probability,
  category: 'medium',
  model_id: 'finance.default-probability',
  model_version: '1.0.0',
  event_time: 1_700_000_000,
  _topic: 'test.console',
  _partition: 0,
  _offset: i,
});

/**
 * MSFT's real monthly closes (vega-datasets stocks.csv) as the market sinks would land them: a bar
 * a month (open at the month before's close) and its indicators computed as market-features does.
 */
async function insertMarket(): Promise<void> {
  const prices = (parse(readFileSync(vegaDataFile('stocks.csv')), { columns: true }) as Record<string, string>[])
    .filter((r) => r.symbol === 'MSFT')
    .map((r) => ({ day: new Date(`${r.date} UTC`).toISOString().slice(0, 10), close: Number(r.price) }));
  const lineage = (i: number) => ({ event_time: 1_700_000_000, _topic: 'test.console', _partition: 0, _offset: i });
  let state: IndicatorState | undefined;
  const quotes = [];
  const indicators = [];
  for (const [i, { day, close }] of prices.entries()) {
    const open = prices[i - 1]?.close ?? close;
    const ts = `${day} 00:00:00`;
    const id = `${tenant}:MSFT:${day}`;
    quotes.push({
      id,
      tenant_id: tenant,
      symbol: 'MSFT',
      ts,
      open,
      high: Math.max(open, close) * 1.03,
      low: Math.min(open, close) * 0.97,
      close,
      volume: 1000 + i,
      source: 'test',
      source_url: null,
      ...lineage(i),
    });
    const next = step(state, Date.parse(day), close)!;
    state = next.state;
    indicators.push({ id, tenant_id: tenant, symbol: 'MSFT', ts, close, ...next.indicators, ...lineage(i) });
  }
  await clickhouse.insert({ table: 'market_quotes', values: quotes, format: 'JSONEachRow' });
  await clickhouse.insert({ table: 'market_indicators', values: indicators, format: 'JSONEachRow' });
}

class UnknownAirportError extends Error {
  override name = 'UnknownAirportError';
}
class NegativeDelayError extends Error {
  override name = 'NegativeDelayError';
}

/** Three of the tenant's flights refused by a pipeline, as core/dlq.ts writes them to samples.flights.raw.dlq. */
async function produceDeadLetters(): Promise<void> {
  const topic = 'samples.flights.raw';
  const raw = kafka.producer();
  await raw.connect();
  try {
    const refused = flights(3).map((f, i) => ({ ...f, id: `dl-${run}-${i}`, tenant_id: tenant }));
    const messages = await Promise.all(
      refused.map(async (flight, i) =>
        toDlqMessage(
          {
            topic,
            partition: 0,
            message: {
              key: Buffer.from(flight.id),
              value: await registry.encode(valueSubjectOf(topic), flight),
              headers: {},
              offset: String(5000 + i),
            },
          },
          i === 2
            ? new NegativeDelayError(`flight ${flight.id}: delay is negative`)
            : new UnknownAirportError(`flight ${flight.id}: no airport ${flight.origin}`),
          'processor.console-test',
        ),
      ),
    );
    await raw.send({ topic: dlqTopicOf(topic), messages: messages.map((m) => ({ ...m, partition: 0 })) });
  } finally {
    await raw.disconnect();
  }
}

before(async () => {
  await createTenant(db, tenant);
  key = (await createKey(db, tenant, 'admin')).key;
  // scores already in ClickHouse for the analytics charts: three months
  await clickhouse.insert({
    table: 'finance_scores',
    values: [
      scoreRow(0, '2024-01-31', 0.02),
      scoreRow(1, '2024-02-29', 0.03),
      scoreRow(2, '2024-02-29', 0.04),
      scoreRow(3, '2024-03-31', 0.02),
    ],
    format: 'JSONEachRow',
  });
  await Promise.all([insertMarket(), produceDeadLetters(), producer.connect()]);
  ui = await openConsole('millrace-console-');
  [baseUrl, page] = [ui.url, ui.page];
});

after(async () => {
  await ui?.stop();
  await Promise.all([producer.disconnect(), db.end(), clickhouse.close()]);
});

describe('console', () => {
  it('is served with a CSP that forbids inline script and style; its bundle loads under it; /dashboard redirects', async () => {
    const response = await fetch(`${baseUrl}/console`);
    assert.equal(response.status, 200);
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self';/);
    assert.match(csp, /style-src 'self';/);
    assert.doesNotMatch(await response.text(), /<script>|<script(?![^>]*\bsrc=)[^>]*>|<style|style=/);
    const script = await fetch(`${baseUrl}/console/app.js`);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(script.headers.get('content-security-policy'), csp);
    assert.match(await (await fetch(`${baseUrl}/console/app.css`)).text(), /\.uplot/);
    assert.equal((await fetch(`${baseUrl}/console/nothing.js`)).status, 404);
    const old = await fetch(`${baseUrl}/dashboard`, { redirect: 'manual' });
    assert.deepEqual([old.status, old.headers.get('location')], [301, '/console']);
  });

  it('a wrong key is refused on the page', async () => {
    await page.goto(`${baseUrl}/dashboard`);
    assert.equal(new URL(page.url()).pathname, '/console');
    await page.fill('#key', 'mr_nope');
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#login-error:has-text("Log-in failed")');
    assert.equal(await page.isHidden('#page'), true);
  });

  it('logs in with a key kept in sessionStorage, opens Finance, goes live, and shows a score produced now', async () => {
    await page.fill('#key', key);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#stream-state[data-state="live"]', { timeout: 30_000 });
    assert.equal(await page.evaluate("sessionStorage.getItem('millrace.key')"), key);
    assert.deepEqual(await page.$$eval('#nav a', (links) => links.map((a) => a.textContent)), [
      'Finance',
      'Catalog',
      'Stocks',
      'Models',
      'Image datasets',
      'Analytics',
      'Topics',
      'Schemas',
      'Dead letters',
    ]);
    assert.equal(await page.textContent('#role'), 'admin', 'the role beside the key');
    assert.equal(await page.textContent('#nav a[aria-current="page"]'), 'Finance');

    const id = `${run}-live`;
    await producer.send('finance.statements.scored', [
      {
        value: {
          id,
          tenant_id: tenant,
          event_time: Date.now(),
          source_topic: 'finance.statements.raw',
          source_partition: 0,
          source_offset: 0,
          company_id: `live-co-${run}`,
          period: Math.floor(Date.parse('2024-12-31') / 86_400_000),
          kind: 'annual',
          ohlson_probability: 0.3,
          zmijewski_probability: 0.2,
          altman_probability: 0.1,
          altman_z: 1.5,
          altman_zone: 'distress',
          probability: 0.25,
          category: 'critical',
          model_id: 'finance.default-probability',
          model_version: '1.0.0',
        },
      },
    ]);
    const row = await page.waitForSelector(`#scores tr[data-id="${id}"]`, { timeout: 30_000 });
    const text = await row.innerText();
    for (const part of [`live-co-${run}`, '2024-12-31', 'annual', '0.2500', 'critical'])
      assert.ok(text.includes(part), `${part} in ${text}`);
    await ui.screenshot('finance');
  });

  it("Catalog follows an upload's progress until its rows are classified", async () => {
    await page.click('#nav a:has-text("Catalog")');
    await page.waitForSelector('#upload-form');
    assert.equal(new URL(page.url()).hash, '#/catalog');
    const upload = await call('/v1/uploads?filename=films.csv', {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'sku,title\n1,Halloween\n2,Airplane!\n3,Heat\n4,Alien\n',
    });
    assert.equal(upload.status, 201, await upload.clone().text());
    const { id } = (await upload.json()) as { id: string };
    await page.fill('#upload-id', id);
    await page.click('#upload-form button[type=submit]');
    await page.waitForSelector('#upload-text:has-text("uploaded: 0 classified")', { timeout: 15_000 });
    const processing = await call(`/v1/uploads/${id}/process`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ columns: ['sku', 'title'] }),
    });
    assert.equal(processing.status, 202, await processing.clone().text());
    await page.waitForSelector('#upload-text:has-text("of 4 rows")', { timeout: 15_000 });
    // the rows classified, as the catalog sink lands them: the page follows to the end
    const classified = [1, 2, 3, 4].map((n) => ({
      id: `${id}-${n}`,
      tenant_id: tenant,
      upload_id: id,
      row_number: n,
      taxonomy: '',
      genre: 'Drama',
      confidence: 0.9,
      decided_by: 'model',
      model_id: 'm',
      model_version: '1',
      attributes: '{}',
      fields: '{}',
      event_time: 1_700_000_000,
      _topic: 't',
      _partition: 0,
      _offset: n,
    }));
    await clickhouse.insert({ table: 'catalog_rows', values: classified, format: 'JSONEachRow' });
    await page.waitForSelector('#upload-text:has-text("(done)")', { timeout: 15_000 });
    assert.equal(await page.$eval('#upload-progress', (bar) => (bar as unknown as { value: number }).value), 100);
    await ui.screenshot('catalog');
  });

  it('Stocks watches a symbol and draws its candles with SMA/EMA overlays and RSI, as the API serves them', async () => {
    await page.click('#nav a:has-text("Stocks")');
    await page.fill('#watch-symbol', 'MSFT');
    await page.click('#watch-form button[type=submit]');
    await page.waitForSelector('#watchlist tr[data-symbol="MSFT"]');
    const { stocks } = await apiJson<{ stocks: { symbol: string }[] }>('/v1/stocks');
    assert.deepEqual(
      stocks.map((s) => s.symbol),
      ['MSFT'],
    );

    await page.fill('#stock-from', '2005-01-01');
    await page.fill('#stock-to', '2009-12-31');
    await page.check('#stock-form input[value="ema50"]');
    await page.click('#stock-form button[type=submit]');
    const query = 'from=2005-01-01&to=2009-12-31';
    const { bars } = await apiJson<{ bars: { date: string; close: number; high: number }[] }>(
      `/v1/stocks/MSFT/quotes?${query}&interval=day`,
    );
    const { points, latest } = await apiJson<{
      points: { date: string; sma20: number | null; ema50: number | null; rsi14: number | null }[];
      latest: unknown;
    }>(`/v1/stocks/MSFT/indicators?${query}`);
    assert.equal(bars.length, 60, 'five years of monthly bars');
    assert.equal(latest, null, 'no enriched quote in Postgres: the sinks did not run');
    await page.waitForSelector(`#candles[data-bars="${bars.length}"] .uplot`);
    await page.waitForSelector('#stock-latest:has-text("no enriched quote yet")');

    assertDrawn(
      await chartState(page, '#candles'),
      ['date', 'open', 'high', 'low', 'close', 'SMA 20', 'EMA 20', 'EMA 50'],
      'candles',
    );
    assertDrawn(await chartState(page, '#rsi'), ['date', 'RSI 14', 'overbought', 'oversold'], 'RSI');
    const last = await valuesAtLastPoint(page, '#candles');
    const [bar, point] = [bars.at(-1)!, points.at(-1)!];
    assert.equal(point.date, bar.date);
    assert.deepEqual(
      [last.date, last.close, last.high, last['SMA 20'], last['EMA 50']],
      [bar.date, shown(bar.close), shown(bar.high), shown(point.sma20!), shown(point.ema50!)],
    );
    assert.equal((await valuesAtLastPoint(page, '#rsi'))['RSI 14'], shown(point.rsi14!));
    await ui.screenshot('stocks');

    await page.selectOption('#stock-interval', 'week');
    await page.click('#stock-form button[type=submit]');
    const weeks = await apiJson<{ bars: unknown[] }>(`/v1/stocks/MSFT/quotes?${query}&interval=week`);
    await page.waitForSelector(`#candles[data-bars="${weeks.bars.length}"] .uplot`);
  });

  it('Analytics draws any view and bucket as lines and bars, with the rows the API answers', async () => {
    await page.click('#nav a:has-text("Analytics")');
    await page.waitForSelector('#analytics-table');
    const answer = await apiJson<{ metrics: string[]; rows: Record<string, string | number>[] }>(
      '/v1/analytics/finance_scores?bucket=month&limit=5000',
    );
    assert.deepEqual(
      answer.rows.map((r) => [String(r.bucket).slice(0, 10), r.statements]),
      [
        ['2024-01-01', 1],
        ['2024-02-01', 2],
        ['2024-03-01', 1],
      ],
    );
    const table = await page.$$eval('#analytics-table tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)),
    );
    assert.deepEqual(
      table,
      answer.rows.map((r) => [String(r.bucket), ...answer.metrics.map((m) => String(r[m]))]),
    );
    assertDrawn(await chartState(page, '#analytics-chart'), ['date', ...answer.metrics], 'line chart');
    assert.equal((await valuesAtLastPoint(page, '#analytics-chart')).statements, '1');

    // bars: two metrics split by category
    await page.selectOption('#chart-kind', 'bar');
    await page.selectOption('#chart-split', 'category');
    await page.check('#chart-metrics input[value="mean_probability"]');
    await page.click('#chart-form button[type=submit]');
    await page.waitForSelector('#chart-note:has-text("3 rows")');
    const split = await apiJson<{ rows: Record<string, string | number>[] }>(
      '/v1/analytics/finance_scores?bucket=month&dimensions=category&metrics=statements,mean_probability&limit=5000',
    );
    const bars = await chartState(page, '#analytics-chart');
    assertDrawn(bars, ['date', 'statements · medium', 'mean_probability · medium'], 'bar chart');
    assert.ok(bars.ink.rightAxis > 50, `the second metric has an axis of its own (${bars.ink.rightAxis} pixels)`);
    const values = await valuesAtLastPoint(page, '#analytics-chart');
    assert.equal(values['mean_probability · medium'], shown(Number(split.rows.at(-1)!.mean_probability)));
    await ui.screenshot('analytics');
  });

  it('Dead letters lists the topic’s dead letters as the API does, shows headers and payload, and redrives two once', async () => {
    await page.click('#nav a:has-text("Dead letters")');
    await page.waitForSelector('#dl-topic option', { state: 'attached' });
    await page.selectOption('#dl-topic', 'samples.flights.raw');
    await page.fill('#dl-since', new Date(startedAt).toISOString().slice(0, 19));
    await page.click('#dl-filter button[type=submit]');
    await page.waitForSelector('#dl-rows tr.letter');
    type Letter = { id: string; error: { class: string }; redrive: { by: string; at: string } | null };
    const list = async () =>
      (await apiJson<{ dead_letters: Letter[] }>(`/v1/dead-letters/samples.flights.raw?since=${startedAt}&limit=100`))
        .dead_letters;
    const letters = await list();
    assert.equal(letters.length, 3, 'the tenant sees its three dead letters');
    const rows = () =>
      page.$$eval('#dl-rows tr.letter', (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].slice(1).map((td) => td.textContent)),
      );
    const before = await rows();
    assert.deepEqual(
      before.map((r) => [r[0], r[2], r[6], r[7]]),
      letters.map((l) => [l.id, l.error.class, tenant, '—']),
    );
    assert.ok(before.every((r) => r[5]?.startsWith('samples.flights.raw 0:500')));

    await page.click(`#dl-rows tr.letter[data-id="${letters[0]!.id}"] td:nth-child(3)`);
    const detail = await page.waitForSelector(`#dl-rows tr.detail[data-detail-of="${letters[0]!.id}"]:visible`);
    const detailText = await detail.innerText();
    for (const part of ['millrace.error.class', 'UnknownAirportError', 'processor.console-test', `"id": "dl-${run}-0"`])
      assert.ok(detailText.includes(part), `${part} in the details`);

    for (const letter of letters.slice(0, 2)) await page.check(`#dl-rows input[value="${letter.id}"]`);
    await page.click('#dl-redrive');
    await page.waitForSelector('#dl-result:has-text("Redriven 2")');
    await page.waitForSelector('#dl-rows tr.letter td.redrive:has-text("by key:")');
    const redriven = await list();
    const after = await rows();
    assert.deepEqual(
      after.map((r) => r[7]!.slice(0, `by ${redriven[0]!.redrive?.by ?? ''}`.length)),
      redriven.map((l) => (l.redrive ? `by ${l.redrive.by}` : '—')),
    );
    assert.deepEqual(
      redriven.map((l) => l.redrive !== null),
      [true, true, false],
    );
    assert.deepEqual(
      await page.$$eval('#dl-rows input[type=checkbox]', (boxes) =>
        boxes.map((b) => (b as unknown as { disabled: boolean }).disabled),
      ),
      [true, true, false],
      'a redriven dead letter cannot be picked again',
    );
    await page.click(`#dl-rows tr.letter[data-id="${letters[2]!.id}"] td:nth-child(3)`);
    await page.waitForSelector(`#dl-rows tr.detail[data-detail-of="${letters[2]!.id}"]:visible`);
    await ui.screenshot('dead-letters');
  });

  it('logged nothing to the console but the refused log-in (no CSP violations, no page errors)', () => {
    assert.ok(
      ui.errors.every((e) => /401|Unauthorized/i.test(e)),
      ui.errors.join('\n'),
    );
  });
});
