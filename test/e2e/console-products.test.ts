/**
 * The console's product pages in headless Chromium against the real API server, with data produced
 * during the test by the real pipelines run here (a trainer, the finance scoring processor and
 * Postgres sink, the image-validation processor over the fixture site's image search): train a
 * model twice from the Models page and watch its loss curve, attach the second version in shadow
 * mode and compare it; send a bulk file from Finance and follow it to completed, list the companies
 * and chart one's score history; crawl an image dataset live to done, see its gallery and export its
 * manifest; edit a taxonomy and preview an upload's result. Each page must show what the API
 * answers, charts must draw axes and legends, nothing may be logged as an error, and each page
 * leaves a screenshot.
 */
import '../integration/allow-local-crawl.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { scoresToPostgres } from '../../connectors/sinks/finance-scores.ts';
import { startSink } from '../../connectors/sinks/index.ts';
import type { RunningSink } from '../../connectors/sinks/runtime/run.ts';
import { AMOUNTS } from '../../connectors/sources/finance-bulk/statements.ts';
import { startFixtureSite, type FixtureSite } from '../../connectors/sources/fixture-site/server.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { Fetcher } from '../../domain/crawl/fetcher.ts';
import { FetchLog } from '../../domain/crawl/fetch-log.ts';
import { DatasetImageStore } from '../../domain/images/image-store.ts';
import { startTrainer, type RunningTrainer } from '../../models/tabular/trainer.ts';
import { financeScoring } from '../../processors/finance/index.ts';
import { imageValidation } from '../../processors/images/index.ts';
import { runProcessor, type RunningProcessor } from '../../processors/runtime/index.ts';
import { ensureChromium } from '../../infra/chromium.ts';
import {
  assertDrawn,
  chartState,
  screenshot,
  shown,
  strokeSpan,
  tableRows,
  valuesAtLastPoint,
} from '../../testkit/console-browser.ts';
import { startApi, type ApiChild } from '../../testkit/api-child.ts';
import { DELAY_DATASET, insertFlights, ruledFlights } from '../../testkit/training-helpers.ts';

const run = randomBytes(3).toString('hex');
const tenant = `console-products-${run}`;
const screenshots = mkdtempSync(path.join(tmpdir(), 'millrace-console-products-'));
const datasetsDir = mkdtempSync(path.join(tmpdir(), 'millrace-console-datasets-'));
const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(6);
const clickhouse = createClickHouse();
const log = createLogger('test');
const consoleErrors: string[] = [];
const scoring = financeScoring();
let api: ApiChild;
let site: FixtureSite;
let trainer: RunningTrainer;
let processors: RunningProcessor[] = [];
let sinks: RunningSink[] = [];
let key: string;
let browser: Browser;
let page: Page;

/** A number as the console's tables show it (console/lib/table.ts). */
const cell = (value: number | null | undefined) =>
  value === null || value === undefined ? '—' : String(Number(value.toPrecision(6)));

const call = (route: string, init: RequestInit = {}) =>
  fetch(`${api.url}${route}`, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } });

async function apiJson<T>(route: string): Promise<T> {
  const response = await call(route);
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as T;
}

async function apiText(route: string): Promise<string> {
  const response = await call(route);
  assert.equal(response.status, 200, await response.clone().text());
  return response.text();
}

const openPage = async (title: string, ready: string) => {
  await page.click(`#nav a:has-text("${title}")`);
  await page.waitForSelector(ready);
};

before(async () => {
  const executablePath = await ensureChromium();
  await createTenant(db, tenant);
  key = (await createKey(db, tenant, 'admin')).key;
  await insertFlights(clickhouse, ruledFlights(tenant, 3000));
  site = await startFixtureSite();
  const fetchLog = new FetchLog(clickhouse);
  const fetcher = new Fetcher({
    crawl: 'console-test-images',
    log: fetchLog,
    logger: log,
    ratePerSecondPerHost: 0,
    concurrencyPerHost: 8,
    retries: 1,
    backoffMs: 20,
  });
  const deps = { kafka, registry };
  [trainer, processors, sinks] = await Promise.all([
    startTrainer({ db, clickhouse, kafka, registry, log, groupId: `millrace-trainer-console-${run}` }),
    Promise.all([
      runProcessor(scoring, deps),
      runProcessor(imageValidation({ store: new DatasetImageStore(db, datasetsDir, 6), fetcher, fetchLog }), deps),
    ]),
    Promise.all([startSink(scoresToPostgres, deps)]),
  ]);
  await Promise.all([trainer.joined, ...processors.map((p) => p.joined), ...sinks.map((s) => s.joined)]);
  api = await startApi({
    CRAWL_SEARCH_ENDPOINTS: `${site.url}/search/images?q={q}`,
    CRAWL_DATASETS_DIR: datasetsDir,
    CRAWL_ALLOWED_HOSTS: '127.0.0.1',
  });
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] }); // root in CI: no user namespaces for the sandbox
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, timezoneId: 'UTC', acceptDownloads: true });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
  await page.goto(`${api.url}/console`);
  await page.fill('#key', key);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#nav a[aria-current="page"]');
});

after(async () => {
  await browser?.close();
  await api?.stop();
  await Promise.all([trainer?.stop(), ...processors.map((p) => p.stop()), ...sinks.map((s) => s.stop())]);
  await (scoring as { close?: () => Promise<void> }).close?.();
  // nothing of this run left for a later trainer to claim, nor models in the shared registry
  await db.query(
    "UPDATE training_jobs SET status = 'failed', reason = 'test cleanup' WHERE tenant_id = $1 AND status IN ('queued', 'running')",
    [tenant],
  );
  await db.query('DELETE FROM models WHERE id LIKE $1', [`${tenant}.%`]);
  await site?.close();
  await Promise.all([db.end(), clickhouse.close()]);
  rmSync(datasetsDir, { recursive: true, force: true });
});

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}
const sseEvents = (text: string): SseEvent[] =>
  text
    .split('\n\n')
    .filter((block) => /^data:/m.test(block))
    .map((block) => ({
      event: /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message',
      data: JSON.parse(/^data: ?(.*)$/m.exec(block)![1]!) as Record<string, unknown>,
    }));

describe('console product pages', () => {
  it('lists the product pages in the nav', async () => {
    const titles = await page.$$eval('#nav a', (links) => links.map((a) => a.textContent));
    for (const title of ['Finance', 'Catalog', 'Models', 'Image datasets'])
      assert.ok(titles.includes(title), `${title} in ${titles.join(', ')}`);
  });

  it(
    'Models: trains twice with a live loss curve, lists versions by stage, attaches a shadow and compares it',
    { timeout: 240_000 },
    async () => {
      const defined = await call('/v1/training-datasets', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'delays', ...DELAY_DATASET }),
      });
      assert.equal(defined.status, 201, await defined.clone().text());
      await openPage('Models', '#train-form');
      const train = async (trees: number) => {
        await page.fill('#train-dataset', 'delays');
        await page.selectOption('#train-algorithm', 'gradient_boosting');
        await page.fill('#train-params', JSON.stringify({ trees }));
        await page.click('#train-form button[type=submit]');
        await page.waitForSelector('#job-status[data-status="succeeded"]', { timeout: 120_000 });
        return page.inputValue('#job-id');
      };
      const first = await train(20);
      const jobId = await train(10);
      assert.notEqual(first, jobId);

      // the curve: every progress event of the job, its last loss in the legend
      const events = sseEvents(await apiText(`/v1/training-jobs/${jobId}/events`));
      const progress = events
        .filter((e) => e.event === 'progress')
        .map((e) => e.data as { step: number; train_log_loss: number });
      assert.equal(progress.at(-1)!.step, 10);
      await page.waitForSelector(`#loss-chart[data-steps="${progress.length}"] .uplot`);
      assertDrawn(await chartState(page, '#loss-chart'), ['step', 'train log-loss'], 'loss curve');
      const span = await strokeSpan(page, '#loss-chart', '#1565c0');
      assert.ok(span > 0.8, `the curve spans the plot from the first step to the last (${span})`);
      const last = await valuesAtLastPoint(page, '#loss-chart');
      assert.deepEqual([last.step, last['train log-loss']], ['10', shown(progress.at(-1)!.train_log_loss)]);
      const job = await apiJson<{
        model_id: string;
        model_version: string;
        metrics: { holdout: Record<string, number> };
      }>(`/v1/training-jobs/${jobId}`);
      assert.deepEqual(
        await tableRows(page, '#job-metrics'),
        ['accuracy', 'auc', 'log_loss', 'calibration_error'].map((m) => [m, cell(job.metrics.holdout[m])]),
      );

      // the registry: the model with its two versions, the first active
      const modelId = job.model_id;
      await page.waitForSelector(`#models tr[data-id="${modelId}"] td:nth-child(4):has-text("2")`);
      const listed = (
        await apiJson<{ models: { id: string; active_version: string; versions: number }[] }>('/v1/models')
      ).models.find((m) => m.id === modelId)!;
      const modelRow = await page.$$eval(`#models tr[data-id="${modelId}"] td`, (tds) =>
        tds.map((td) => td.textContent),
      );
      assert.deepEqual(
        [modelRow[0], modelRow[2], modelRow[3]],
        [modelId, listed.active_version, String(listed.versions)],
      );
      await page.click(`#models tr[data-id="${modelId}"] button`);
      const stages = () =>
        page.$$eval('#model-versions tbody tr', (trs) => trs.map((tr) => [tr.dataset.version, tr.dataset.stage]));
      await page.waitForSelector('#model-versions tbody tr');
      type Version = { version: string; stage: string; active: boolean; shadow: boolean };
      const versions = (await apiJson<{ versions: Version[] }>(`/v1/models/${modelId}/versions`)).versions;
      assert.deepEqual(
        await stages(),
        versions.map((v) => [v.version, v.stage]),
      );
      assert.equal(versions.find((v) => !v.active)!.version, job.model_version, 'the second version is not activated');

      // shadow mode from the page; the shadow scores as the shadow sink lands them; the comparison as the API computes it
      const shadow = job.model_version;
      await page.click(`#model-versions tr[data-version="${shadow}"] button:has-text("Shadow")`);
      await page.waitForSelector(`#model-versions tr[data-version="${shadow}"][data-stage="shadow"]`);
      const activeVersion = versions.find((v) => v.active)!.version;
      await clickhouse.insert({
        table: 'model_shadow_scores',
        values: Array.from({ length: 40 }, (_, i) => {
          const [p, q] = [((i * 37) % 100) / 100, ((i * 41) % 100) / 100];
          return {
            id: `${run}-shadow-${i}`,
            tenant_id: tenant,
            model_id: modelId,
            model_version: shadow,
            label: p > 0.5 ? 1 : 0,
            probability: p,
            active_version: activeVersion,
            active_label: q > 0.5 ? 1 : 0,
            active_probability: q,
            actual: i % 3 === 0 ? 1 : 0,
            event_time: 1_700_000_000,
            _topic: 'test.console',
            _partition: 0,
            _offset: i,
          };
        }),
        format: 'JSONEachRow',
      });
      await page.click(`#model-versions tr[data-version="${shadow}"] button:has-text("Compare")`);
      await page.waitForSelector('#comparison tbody tr');
      type Metrics = Record<string, number>;
      const comparison = await apiJson<{
        records: number;
        agreement: number;
        active: Metrics;
        shadow: Metrics;
        delta: Metrics;
      }>(`/v1/models/${modelId}/versions/${shadow}/comparison`);
      assert.equal(comparison.records, 40);
      assert.deepEqual(
        await tableRows(page, '#comparison'),
        ['rows', 'positive_rate', 'accuracy', 'auc', 'log_loss', 'calibration_error'].map((m) => [
          m,
          cell(comparison.active[m]),
          cell(comparison.shadow[m]),
          cell(comparison.delta[m]),
        ]),
      );
      assert.match(
        (await page.textContent('#comparison-note')) ?? '',
        new RegExp(`^40 records .* agreement ${cell(comparison.agreement)},`),
      );

      // drift: six weeks of the active version's scores as the scores sink lands them, moving up week by week
      const monday = Date.UTC(2024, 0, 1) / 1000;
      await clickhouse.insert({
        table: 'model_scores',
        values: Array.from({ length: 6 * 30 }, (_, i) => {
          const week = Math.floor(i / 30);
          const p = Math.min(0.05 + ((i % 30) / 30) * 0.5 + week * 0.08, 0.99);
          return {
            id: `${run}-drift-${i}`,
            tenant_id: tenant,
            model_id: modelId,
            model_version: activeVersion,
            label: p > 0.5 ? 1 : 0,
            probability: p,
            actual: i % 4 === 0 ? 1 : 0,
            event_time: monday + week * 7 * 86_400 + (i % 30) * 3600,
            _topic: 'test.console',
            _partition: 0,
            _offset: i,
          };
        }),
        format: 'JSONEachRow',
      });
      await page.click(`#model-versions tr[data-version="${activeVersion}"] button:has-text("Drift")`);
      await page.waitForSelector('#drift tbody tr');
      const drift = await apiJson<{
        points: { start: string; rows: number; mean_probability: number; actual_rate: number; psi: number }[];
      }>(`/v1/models/${modelId}/versions/${activeVersion}/drift?bucket=week`);
      assert.equal(drift.points.length, 6);
      assert.ok(drift.points.at(-1)!.psi > 0.25, `the last week drifted: PSI ${drift.points.at(-1)!.psi}`);
      assert.deepEqual(
        await tableRows(page, '#drift'),
        drift.points.map((p) => [
          p.start.slice(0, 10),
          String(p.rows),
          cell(p.mean_probability),
          cell(p.actual_rate),
          cell(p.psi),
        ]),
      );
      assertDrawn(await chartState(page, '#drift-chart'), ['date', 'mean probability', 'actual rate', 'PSI'], 'drift');
      await screenshot(page, screenshots, 'models');
    },
  );

  it(
    'Finance: a bulk file to completed with its refused row, the companies as listed, a score history chart',
    { timeout: 180_000 },
    async () => {
      await openPage('Finance', '#bulk-form');
      const quarterEnds = ['2023-03-31', '2023-06-30', '2023-09-30', '2023-12-31'];
      const header = ['company_id', 'period', 'period_end', ...AMOUNTS];
      const lines = [header.join(',')];
      for (const [c, company] of ['alpha', 'beta', 'gamma'].entries())
        for (const [q, periodEnd] of quarterEnds.entries()) {
          const ta = 1000 + 300 * c;
          const amounts: Record<string, number> = Object.fromEntries(AMOUNTS.map((a) => [a, ta * 0.2]));
          Object.assign(amounts, {
            total_assets: ta,
            total_liabilities: ta * (0.4 + 0.15 * q + 0.1 * c),
            net_income: ta * (0.05 - 0.03 * q),
            market_value_equity: ta * (1 - 0.2 * q),
          });
          lines.push([`${company}-${run}`, 'quarterly', periodEnd, ...AMOUNTS.map((a) => amounts[a])].join(','));
        }
      lines.push([`bad-${run}`, 'quarterly', '2023-02-30', ...AMOUNTS.map(() => 1)].join(','));
      await page.setInputFiles('#bulk-file', {
        name: 'statements.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(`${lines.join('\n')}\n`),
      });
      await page.click('#bulk-form button[type=submit]');
      const jobRow = await page.waitForSelector('#bulk-jobs tr[data-state="completed"]', { timeout: 150_000 });
      const jobId = (await jobRow.getAttribute('data-id'))!;
      type Job = {
        state: string;
        rows_read: number;
        total_rows: number;
        accepted: number;
        scored: number;
        rejected: number;
        rejections: { row_number: number; field: string; reason: string }[];
      };
      const job = await apiJson<Job>(`/v1/jobs/${jobId}`);
      assert.deepEqual([job.state, job.accepted, job.scored, job.rejected], ['completed', 12, 12, 1]);
      const [shownJob] = await tableRows(page, '#bulk-jobs');
      assert.deepEqual(shownJob!.slice(1, 7), [
        'statements.csv',
        'completed',
        `${job.rows_read} of ${job.total_rows}`,
        String(job.accepted),
        String(job.scored),
        String(job.rejected),
      ]);
      await page.click(`#bulk-jobs tr[data-id="${jobId}"] button`);
      assert.deepEqual(
        await tableRows(page, '#bulk-rejections'),
        job.rejections.map((r) => [String(r.row_number), r.field ?? '—', r.reason]),
      );

      await page.click('#companies-reload');
      await page.waitForSelector(`#companies tr[data-id="gamma-${run}"]`);
      type Company = {
        company_id: string;
        statements: number;
        first_period_end: string;
        last_period_end: string;
        latest: { category: string };
      };
      const { companies } = await apiJson<{ companies: Company[] }>('/v1/companies?limit=50');
      assert.deepEqual(
        (await tableRows(page, '#companies')).map((r) => [r[0], r[1], r[2], r[3], r[5]]),
        companies.map((c) => [
          c.company_id,
          String(c.statements),
          c.first_period_end,
          c.last_period_end,
          c.latest.category,
        ]),
      );
      await page.click(`#companies tr[data-id="beta-${run}"] button`);
      await page.waitForSelector('#history-chart[data-points="4"] .uplot');
      type Prediction = Record<string, number> & { period_end: string };
      const { predictions } = await apiJson<{ predictions: Prediction[] }>(
        `/v1/predictions?company=beta-${run}&limit=1000`,
      );
      const state = await chartState(page, '#history-chart');
      assertDrawn(state, ['date', 'probability', 'Ohlson', 'Zmijewski', 'Altman', 'Altman Z'], 'score history');
      assert.ok(state.ink.rightAxis > 50, `Altman Z has an axis of its own (${state.ink.rightAxis} pixels)`);
      for (const [label, color] of [
        ['probability', '#1565c0'],
        ['Altman Z', '#ef6c00'],
      ]) {
        const drawn = await strokeSpan(page, '#history-chart', color!);
        assert.ok(drawn > 0.7, `${label} spans the plot (3 of 4 quarter widths) (${drawn})`);
      }
      const latest = predictions[0]!;
      const values = await valuesAtLastPoint(page, '#history-chart');
      assert.deepEqual(
        [values.date, values.probability, values.Ohlson, values.Zmijewski, values.Altman, values['Altman Z']],
        [
          latest.period_end,
          shown(latest.probability!),
          shown(latest.ohlson_probability!),
          shown(latest.zmijewski_probability!),
          shown(latest.altman_probability!),
          shown(latest.altman_z!),
        ],
      );
      await page.mouse.move(0, 0);
      await screenshot(page, screenshots, 'finance-products');
    },
  );

  it(
    'Image datasets: a crawl followed live to done, its rejections by reason, its gallery and manifest export',
    { timeout: 180_000 },
    async () => {
      await openPage('Image datasets', '#ds-create');
      await page.fill('#ds-name', 'zebras');
      await page.fill('#ds-keywords', 'Zebra');
      await page.fill('#ds-per-keyword', '100');
      await page.fill('#ds-min-side', '32');
      // every state the page shows, as it shows it
      await page.evaluate(`{
        const state = document.getElementById('ds-state');
        window.seenStates = [];
        new MutationObserver(() => window.seenStates.push(state.dataset.state)).observe(state, { attributes: true });
      }`);
      await page.click('#ds-create button[type=submit]');
      await page.waitForSelector('#ds-state[data-state="done"]', { timeout: 150_000 });
      const seen = (await page.evaluate('window.seenStates')) as string[];
      assert.ok(seen.length > 1 && seen.at(-1) === 'done' && seen[0] !== 'done', `followed live: ${seen.join(', ')}`);
      await page.waitForSelector('#ds-gallery[data-images]');
      const id = (await page.getAttribute('#ds-detail', 'data-id'))!;
      type Status = {
        counts: {
          found: number;
          validated: number;
          downloaded: number;
          accepted: number;
          rejected: { total: number; by_reason: Record<string, number> };
          duplicates: { total: number; exact: number; near: number };
        };
      };
      const { counts: c } = await apiJson<Status>(`/v1/image-datasets/${id}`);
      assert.ok(c.accepted > 0 && c.rejected.total > 0, JSON.stringify(c));
      assert.deepEqual(await tableRows(page, '#ds-counts'), [
        [
          c.found,
          c.validated,
          c.downloaded,
          c.accepted,
          c.rejected.total,
          `${c.duplicates.total} (${c.duplicates.exact}, ${c.duplicates.near})`,
        ].map(String),
      ]);
      assert.deepEqual(
        await tableRows(page, '#ds-rejections'),
        Object.entries(c.rejected.by_reason)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([reason, n]) => [reason, String(n)]),
      );
      const manifest = await apiText(`/v1/image-datasets/${id}/export`);
      const lines = manifest
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { sha256: string });
      assert.equal(lines.length, c.accepted);
      assert.deepEqual(
        await page.$$eval('#ds-gallery .image-card', (cards) => cards.map((card) => card.getAttribute('data-sha256'))),
        lines.slice(0, 60).map((l) => l.sha256),
      );
      // every card shows its image's thumbnail: the WebP the API serves for that sha256, as a data: URL
      await page.waitForFunction(
        `[...document.querySelectorAll('#ds-gallery .image-card img')].filter((i) => i.naturalWidth > 0).length === ${Math.min(lines.length, 60)}`,
      );
      const shown = await page.$$eval('#ds-gallery .image-card', (cards) =>
        cards.map((card) => [card.getAttribute('data-sha256'), card.querySelector('img')!.getAttribute('src')!]),
      );
      for (const [sha, src] of shown) {
        assert.ok(src!.startsWith('data:image/webp;base64,'), 'a WebP thumbnail');
        const bytes = Buffer.from(src!.slice(src!.indexOf(',') + 1), 'base64');
        const thumbnail = Buffer.from(
          await (await call(`/v1/image-datasets/${id}/images/${sha}/thumbnail?size=128`)).arrayBuffer(),
        );
        assert.ok(bytes.equals(thumbnail), `the card shows the thumbnail of ${sha}`);
      }
      assert.equal((await call(`/v1/image-datasets/${id}/images/${'0'.repeat(64)}`)).status, 404);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#ds-export')]);
      assert.equal(download.suggestedFilename(), `${id}-manifest.jsonl`);
      assert.equal(readFileSync((await download.path())!, 'utf8'), manifest);
      await screenshot(page, screenshots, 'image-datasets');
    },
  );

  it(
    'Catalog: edits a taxonomy to a new version, loads an old one, and previews an upload’s result',
    { timeout: 60_000 },
    async () => {
      await openPage('Catalog', '#tax-form');
      await page.fill('#tax-id', 'films');
      await page.fill('#tax-genres', 'Drama\nComedy\nHorror');
      await page.fill('#tax-attributes', 'mood: dark, light');
      await page.fill('#tax-references', 'Horror | Halloween\nComedy | Airplane!');
      await page.click('#tax-form button[type=submit]');
      await page.waitForSelector('#tax-state[data-version="1"]');
      await page.fill('#tax-genres', 'Drama\nComedy\nHorror\nSci-Fi');
      await page.click('#tax-form button[type=submit]');
      await page.waitForSelector('#tax-state[data-version="2"]');
      const v2 = await apiJson<{ genres: string[]; attributes: Record<string, string[]>; references: number }>(
        '/v1/taxonomies/films',
      );
      assert.deepEqual(v2, {
        id: 'films',
        version: 2,
        genres: ['Drama', 'Comedy', 'Horror', 'Sci-Fi'],
        attributes: { mood: ['dark', 'light'] },
        references: 2,
        model: 'catalog-genre', // none named: the platform's
      });
      await page.fill('#tax-version', '1');
      await page.click('#tax-load');
      await page.waitForSelector('#tax-state:has-text("Loaded films version 1")');
      assert.equal(await page.inputValue('#tax-genres'), 'Drama\nComedy\nHorror');
      assert.equal(await page.inputValue('#tax-attributes'), 'mood: dark, light');
      // a save from a loaded version keeps its reference items, which the editor holds whole
      assert.equal(await page.textContent('#tax-keep-label'), 'keep the 2 reference items of version 1');
      await page.click('#tax-form button[type=submit]');
      await page.waitForSelector('#tax-state[data-version="3"]');
      type References = { references: { genre: string; text: string }[] };
      assert.deepEqual(
        (await apiJson<References>('/v1/taxonomies/films/references?version=3')).references,
        (await apiJson<References>('/v1/taxonomies/films/references?version=1')).references,
      );
      assert.deepEqual((await apiJson<References>('/v1/taxonomies/films/references?version=1')).references, [
        { genre: 'Horror', text: 'Halloween' },
        { genre: 'Comedy', text: 'Airplane!' },
      ]);

      const upload = await call('/v1/uploads?filename=films.csv', {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: 'sku,title\n1,Halloween\n2,Airplane!\n3,"Heat, the film"\n',
      });
      assert.equal(upload.status, 201, await upload.clone().text());
      const { id } = (await upload.json()) as { id: string };
      const processing = await call(`/v1/uploads/${id}/process`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ columns: ['sku', 'title'], taxonomy: 'films' }),
      });
      assert.equal(processing.status, 202, await processing.clone().text());
      // the rows classified, as the catalog sink lands them
      const titles = ['Halloween', 'Airplane!', 'Heat, the film'];
      const genres = ['Horror', 'Comedy', 'Drama'];
      await clickhouse.insert({
        table: 'catalog_rows',
        values: titles.map((title, i) => ({
          id: `${id}-${i + 1}`,
          tenant_id: tenant,
          upload_id: id,
          row_number: i + 1,
          taxonomy: 'films',
          genre: genres[i],
          confidence: 0.9 - i / 10,
          decided_by: 'model',
          model_id: 'm',
          model_version: '1',
          attributes: JSON.stringify({ mood: { value: i === 1 ? 'light' : 'dark' } }),
          fields: JSON.stringify({ sku: String(i + 1), title }),
          event_time: 1_700_000_000,
          _topic: 't',
          _partition: 0,
          _offset: i + 1,
        })),
        format: 'JSONEachRow',
      });
      await page.fill('#upload-id', id);
      await page.click('#upload-form button[type=submit]');
      await page.waitForSelector('#result-preview[data-rows="3"]:not([hidden])', { timeout: 20_000 });
      const [head, ...rows] = parse(await apiText(`/v1/uploads/${id}/result`)) as string[][];
      assert.deepEqual(head, ['row_number', 'sku', 'title', 'genre', 'confidence', 'decided_by', 'attribute:mood']);
      assert.deepEqual(await page.$$eval('#result-table th', (ths) => ths.map((th) => th.textContent)), head);
      assert.deepEqual(await tableRows(page, '#result-table'), rows);
      assert.equal(rows[2]![2], 'Heat, the film');
      await screenshot(page, screenshots, 'catalog-products');
    },
  );

  it('logged nothing to the console (no CSP violations, no page errors)', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
