/**
 * The Models page's jobs and runs in headless Chromium against the real API server, with a trainer
 * run here on flights of a known rule: two jobs trained from the page appear in the jobs table as
 * the API lists them; a long job is cancelled with its row's Cancel button and ends cancelled with
 * no version; the status filter shows only the jobs of that status; two runs checked and compared
 * show the parameter that changed and each held-out metric as the API compares them. Nothing may be
 * logged as an error, and each step leaves a screenshot.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { startTrainer, type RunningTrainer } from '../../models/tabular/trainer.ts';
import { logIn, openConsole, tableRows, type ConsoleBrowser } from '../../testkit/console-browser.ts';
import { DELAY_DATASET, insertFlights, ruledFlights } from '../../testkit/training-helpers.ts';

const run = randomBytes(3).toString('hex');
const tenant = `console-jobs-${run}`;
const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const kafka = createKafka('millrace-test');
const registry = new Registry();
const log = createLogger('test');
let trainer: RunningTrainer;
let browser: ConsoleBrowser;
let key: string;

/** A number as the console's tables show it (console/lib/table.ts). */
const cell = (value: number | null | undefined) =>
  value === null || value === undefined ? '—' : String(Number(value.toPrecision(6)));

async function apiJson<T>(route: string): Promise<T> {
  const response = await fetch(`${browser.url}${route}`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as T;
}

interface Job {
  id: string;
  status: string;
  priority: number;
  params: Record<string, unknown>;
  model_version: string | null;
}

before(async () => {
  await createTenant(db, tenant);
  key = (await createKey(db, tenant, 'admin')).key;
  await insertFlights(clickhouse, ruledFlights(tenant, 3000));
  trainer = await startTrainer({ db, clickhouse, kafka, registry, log, groupId: `millrace-trainer-console-${run}` });
  await trainer.joined;
  browser = await openConsole('millrace-console-jobs-');
  const defined = await fetch(`${browser.url}/v1/training-datasets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'delays', ...DELAY_DATASET }),
  });
  assert.equal(defined.status, 201, await defined.clone().text());
  await logIn(browser.page, browser.url, key);
});

after(async () => {
  await browser?.stop();
  await trainer?.stop();
  await db.query(
    "UPDATE training_jobs SET status = 'failed', reason = 'test cleanup' WHERE tenant_id = $1 AND status IN ('queued', 'running')",
    [tenant],
  );
  await db.query('DELETE FROM models WHERE id LIKE $1', [`${tenant}.%`]);
  await Promise.all([db.end(), clickhouse.close()]);
});

describe('the Models page: training jobs and runs', () => {
  const trained: string[] = [];

  it('lists the jobs trained from the page as the API does, newest first', { timeout: 240_000 }, async () => {
    const { page } = browser;
    await page.click('#nav a:has-text("Models")');
    await page.waitForSelector('#training-runs');
    for (const trees of [10, 20]) {
      await page.fill('#train-dataset', 'delays');
      await page.selectOption('#train-algorithm', 'gradient_boosting');
      await page.fill('#train-params', JSON.stringify({ trees }));
      await page.click('#train-form button[type=submit]');
      await page.waitForSelector('#job-status[data-status="succeeded"]', { timeout: 120_000 });
      trained.push(await page.inputValue('#job-id'));
    }
    await page.waitForSelector(`#training-jobs tr[data-id="${trained[1]}"][data-status="succeeded"]`);
    const listed = await apiJson<{ jobs: Job[] }>('/v1/training-jobs');
    assert.deepEqual(
      await page.$$eval('#training-jobs tbody tr', (rows) => rows.map((r) => r.getAttribute('data-id'))),
      listed.jobs.map((j) => j.id),
    );
    assert.deepEqual(
      listed.jobs.map((j) => j.id),
      [trained[1], trained[0]],
    );
    const [newest] = await tableRows(page, '#training-jobs');
    assert.equal(newest![1], trained[1]!.slice(0, 8));
    assert.deepEqual(newest!.slice(2, 5), ['succeeded', '0', 'gradient_boosting']);
    assert.equal(newest![7], JSON.stringify(listed.jobs[0]!.params));
    await browser.screenshot('jobs-table');
  });

  it('cancels a running job from its row: it ends cancelled, with no version', { timeout: 180_000 }, async () => {
    const { page } = browser;
    await page.fill('#train-params', JSON.stringify({ trees: 2000, max_depth: 8, bins: 256 }));
    await page.fill('#train-priority', '2');
    await page.click('#train-form button[type=submit]');
    const running = await page.waitForSelector('#training-jobs tr[data-status="running"]', { timeout: 60_000 });
    const id = (await running.getAttribute('data-id'))!;
    await page.click(`#training-jobs tr[data-id="${id}"] button.cancel-job`);
    await page.waitForSelector('#job-status[data-status="cancelled"]', { timeout: 60_000 });
    await page.waitForSelector(`#training-jobs tr[data-id="${id}"][data-status="cancelled"]`);
    assert.equal(await page.$(`#training-jobs tr[data-id="${id}"] button.cancel-job`), null, 'no Cancel any more');
    const job = await apiJson<Job>(`/v1/training-jobs/${id}`);
    assert.deepEqual([job.status, job.priority, job.model_version], ['cancelled', 2, null]);
    const { rowCount } = await db.query("SELECT 1 FROM model_versions WHERE manifest -> 'lineage' ->> 'job_id' = $1", [
      id,
    ]);
    assert.equal(rowCount, 0);

    await page.selectOption('#jobs-status', 'cancelled');
    await page.waitForSelector('#training-jobs tbody tr:not([data-status="cancelled"])', { state: 'detached' });
    assert.deepEqual(
      await page.$$eval('#training-jobs tbody tr', (rows) => rows.map((r) => r.getAttribute('data-id'))),
      [id],
    );
    await browser.screenshot('jobs-cancelled');
    await page.selectOption('#jobs-status', 'all');
    await page.waitForSelector(`#training-jobs tr[data-id="${trained[0]}"]`);
  });

  it('compares the two checked runs as the API does', { timeout: 60_000 }, async () => {
    const { page } = browser;
    assert.equal(await page.isDisabled('#compare-runs'), true);
    for (const id of trained) await page.check(`#training-jobs tr[data-id="${id}"] input.compare-pick`);
    await page.click('#compare-runs');
    await page.waitForSelector('#run-comparison:not([hidden])');
    const [a, b] = await page.$$eval('#training-jobs input.compare-pick:checked', (boxes) =>
      boxes.map((box) => box.getAttribute('value')),
    );
    const compared = await apiJson<{
      params: { name: string; a: unknown; b: unknown; changed: boolean }[];
      metrics: { name: string; a: number; b: number; delta: number; better: string | null }[];
    }>(`/v1/training-runs/compare?a=${a}&b=${b}`);
    assert.deepEqual(
      await tableRows(page, '#run-params'),
      compared.params.map((p) => [p.name, JSON.stringify(p.a), JSON.stringify(p.b)]),
    );
    assert.deepEqual(
      await page.$$eval('#run-params tr[data-changed="true"] td:first-child', (tds) => tds.map((td) => td.textContent)),
      ['trees'],
    );
    assert.deepEqual(
      await tableRows(page, '#run-metrics'),
      compared.metrics.map((m) => [m.name, cell(m.a), cell(m.b), cell(m.delta), m.better ?? '—']),
    );
    assert.ok(compared.metrics.some((m) => m.name === 'auc'));
    await browser.screenshot('runs-compared');
    assert.deepEqual(browser.errors, []);
  });

  it('offers Cancel only to a key that may cancel: not to a reader', { timeout: 60_000 }, async () => {
    const { page } = browser;
    // running elsewhere, leased for long: no trainer here claims it
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO training_jobs (id, tenant_id, dataset_name, dataset_version, algorithm, params, model_id, status, claimed_by, lease_until)
       VALUES (gen_random_uuid(), $1, 'delays', 1, 'logistic_regression', '{}', $2, 'running', 'elsewhere', now() + interval '1 hour')
       RETURNING id`,
      [tenant, `${tenant}.elsewhere`],
    );
    const id = rows[0]!.id;
    await page.selectOption('#jobs-status', 'running');
    await page.waitForSelector(`#training-jobs tr[data-id="${id}"] button.cancel-job`);
    const reader = (await createKey(db, tenant, 'reader')).key;
    await page.click('#logout');
    await page.waitForSelector('#login', { state: 'visible' });
    await logIn(page, browser.url, reader);
    await page.click('#nav a:has-text("Models")');
    await page.waitForSelector(`#training-jobs tr[data-id="${id}"][data-status="running"]`);
    assert.equal(await page.$$eval('#training-jobs button.cancel-job', (buttons) => buttons.length), 0);
    await browser.screenshot('jobs-reader');
    assert.deepEqual(browser.errors, []);
  });
});
