/**
 * The dashboard in headless Chromium (Debian's, installed on first use) against the real API
 * server: log in with a key, see a finance score produced during the test arrive live, follow an
 * upload's progress, draw the analytics chart, and keep a screenshot.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { ensureChromium } from '../../infra/chromium.ts';
import { freePort } from '../../core/free-port.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = randomBytes(3).toString('hex');
const tenant = `dash-${run}`;
const db = createPostgresPool(2);
const clickhouse = createClickHouse();
const producer = new AvroProducer(createKafka('millrace-test'), new Registry());
const consoleErrors: string[] = [];
let api: ChildProcess;
let baseUrl: string;
let key: string;
let browser: Browser;
let page: Page;

/** `millrace api` as a child process; resolves with its URL once it logs that it listens. */
async function startApi(): Promise<string> {
  const port = await freePort();
  api = spawn(process.execPath, [path.join(root, 'bin', 'millrace.js'), 'api'], {
    // every client here is 127.0.0.1, which other tests' servers count against too; limits have their own tests
    env: { ...process.env, API_PORT: String(port), RATE_LIMIT_PER_IP: '1000000' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = createInterface({ input: api.stderr! });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the API did not start within 60 s')), 60_000);
    api.once('exit', (code) => reject(new Error(`the API exited with ${code}`)));
    lines.on('line', (line) => {
      if (!line.includes('"api listening"')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
  });
}

const call = (route: string, init: RequestInit = {}) =>
  fetch(`${baseUrl}${route}`, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } });

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
  _topic: 'test.dashboard',
  _partition: 0,
  _offset: i,
});

before(async () => {
  const executablePath = await ensureChromium();
  await createTenant(db, tenant);
  key = (await createKey(db, tenant, 'admin')).key;
  // scores already in ClickHouse for the chart: three months
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
  await producer.connect();
  baseUrl = await startApi();
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] }); // root in CI: no user namespaces for the sandbox
  page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
});

after(async () => {
  await browser?.close();
  if (api && api.exitCode === null) {
    const exited = new Promise((resolve) => api.once('exit', resolve));
    api.kill('SIGTERM');
    await exited;
  }
  await Promise.all([producer.disconnect(), db.end(), clickhouse.close()]);
});

describe('dashboard', () => {
  it('is served with a CSP that forbids inline script, and its files load under it', async () => {
    const response = await fetch(`${baseUrl}/dashboard`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self';/);
    assert.doesNotMatch(await response.text(), /<script>|<script(?![^>]*\bsrc=)[^>]*>/);
    assert.equal(
      (await fetch(`${baseUrl}/dashboard/dashboard.js`)).headers.get('content-type'),
      'text/javascript; charset=utf-8',
    );
  });

  it('a wrong key is refused on the page', async () => {
    await page.goto(`${baseUrl}/dashboard`);
    await page.fill('#key', 'mr_nope');
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#login-error:has-text("Log-in failed")');
    assert.equal(await page.isHidden('#main'), true);
  });

  it('logs in with a key kept in sessionStorage, goes live, and shows a score produced now', async () => {
    await page.fill('#key', key);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#stream-state[data-state="live"]', { timeout: 30_000 });
    assert.equal(await page.evaluate("sessionStorage.getItem('millrace.key')"), key);

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
  });

  it("draws the analytics chart: one bar per month of the tenant's scores", async () => {
    await page.waitForSelector('#chart rect', { timeout: 15_000 });
    const bars = await page.$$eval('#chart rect title', (titles) => titles.map((t) => t.textContent));
    assert.deepEqual(bars, ['2024-01-01: 1', '2024-02-01: 2', '2024-03-01: 1']);
  });

  it("follows a catalog upload's progress until its rows are classified", async () => {
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
  });

  it('takes a screenshot', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'millrace-dashboard-')), 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    const png = readFileSync(file);
    assert.ok(png.length > 1000, `${png.length} bytes`);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    process.stderr.write(`dashboard screenshot: ${file}\n`);
  });

  it('logged nothing to the console but the refused log-in (no CSP violations)', () => {
    assert.ok(
      consoleErrors.every((e) => /401|Unauthorized/i.test(e)),
      consoleErrors.join('\n'),
    );
  });
});
