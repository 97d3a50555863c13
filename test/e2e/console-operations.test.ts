/**
 * The console's operations pages in headless Chromium against `millrace api`, by role, with data
 * made during the test: quotes produced through the API browsed on Topics (from a time with a key,
 * a page at a time, and from a partition's offset), every subject and a version's fields on Schemas,
 * and a processor running in this process with a known backlog on Pipelines (its row, its lag per
 * partition and group member, the total lag chart, then the backlog drained). A key sees only the
 * pages its permissions allow: Pipelines for operators, Analytics for analytics, redrive for ingest
 * or operate. Each page must show what the API answers, nothing may be logged as an error (a CSP
 * violation would be), and every page leaves a screenshot.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import type { RoleStatus } from '../../core/pipeline-status.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { startHeartbeat } from '../../core/role-heartbeat.ts';
import { Registry } from '../../core/schema-registry.ts';
import type { RecordView } from '../../core/topic-browse.ts';
import { perRecord, processorGroupOf, runProcessor, type ProcessorSpec } from '../../processors/runtime/index.ts';
import {
  assertDrawn,
  chartState,
  logIn,
  openConsole,
  shown,
  valuesAtLastPoint,
  type ConsoleBrowser,
} from '../../testkit/console-browser.ts';
import { eventually, flights, type Flight } from '../../testkit/helpers.ts';
import { produceFlights, topicPair } from '../../testkit/processor-helpers.ts';

const run = randomBytes(3).toString('hex');
const tenant = `conops-${run}`;
const startedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000); // whole seconds: a datetime-local input's precision
const symbol = `OPS${run}`.toUpperCase();
const topic = 'market.quotes.raw';
const BACKLOG = 300;
const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(2);
const log = createLogger('processor', { test: 'console-operations' });
const keys: Record<'admin' | 'reader' | 'operator', string> = { admin: '', reader: '', operator: '' };
let ui: ConsoleBrowser;
let page: Page;
let role: { name: string; release: () => void; stop: () => Promise<void> };
/** where the API put each quote produced */
let placed: { id: string; partition: number; offset: string }[];

const call = (route: string, key: string, body?: unknown) =>
  fetch(`${ui.url}${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function apiJson<T>(route: string, key: string): Promise<T> {
  const response = await call(route, key);
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as T;
}

const isoSecond = (time: string) => new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Runs `action` (a browse) and waits for the Topics page to show its answer. */
async function browsed(action: () => Promise<unknown>): Promise<void> {
  const loads = await page.getAttribute('#tp-summary', 'data-loads');
  await action();
  // loads only grow (and the page's CSP allows no waitForFunction string)
  await page.waitForSelector(`#tp-summary[data-loads]:not([data-loads="${loads}"])`);
}

/** The text of each cell of each row `rows` selects. */
const cells = (rows: string): Promise<string[][]> =>
  page.$$eval(rows, (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));

const quote = (i: number) => ({
  id: `ops-${run}-${i}`,
  event_time: Date.now(),
  source: 'console-test',
  symbol,
  ts: 1_700_000_000_000 + i * 60_000,
  open: null,
  high: null,
  low: null,
  close: 100 + i,
  volume: null,
});

/** A processor in this process, its transform held back so its input's records wait as lag, reporting itself. */
async function heldProcessor(): Promise<typeof role> {
  const { input, output } = await topicPair('console_ops', 2, 2);
  await produceFlights(kafka, registry, input.name, flights(BACKLOG));
  const name = `console-${input.name}`;
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const copy = perRecord<Flight, Flight>((r) => [r.value]);
  const spec: ProcessorSpec<Flight, Flight> = {
    name,
    input: input.name,
    output: output.name,
    transform: async (records, context) => {
      await held;
      return copy(records, context);
    },
  };
  // its first batch is held inside eachBatch, where kafkajs sends no heartbeat: with the default 30 s
  // session the broker drops the member while the earlier pages are still being walked on a busy machine
  const processor = await runProcessor(spec, { kafka, registry, log, sessionTimeoutMs: 300_000 });
  const heartbeat = await startHeartbeat(
    db,
    { role: 'processor', name, groupId: processorGroupOf(name), topics: [input.name] },
    log,
    500,
  );
  return {
    name,
    release,
    stop: async () => {
      release(); // a batch held back would keep the processor from stopping
      await heartbeat.stop();
      await processor.stop();
    },
  };
}

before(async () => {
  await createTenant(db, tenant);
  for (const r of ['admin', 'reader', 'operator'] as const) keys[r] = (await createKey(db, tenant, r)).key;
  [role, ui] = await Promise.all([heldProcessor(), openConsole('millrace-console-ops-')]);
  page = ui.page;
  const produced = await call(`/v1/topics/${topic}/records`, keys.admin, [0, 1, 2, 3, 4].map(quote));
  assert.equal(produced.status, 200, await produced.clone().text());
  placed = ((await produced.json()) as { results: typeof placed }).results;
  assert.equal(placed.length, 5);
});

after(async () => {
  await role?.stop();
  await ui?.stop();
  await db.end();
});

/** A role's row as the Pipelines page renders it from the API's JSON. */
const roleCells = (r: RoleStatus): string[] => [
  r.role,
  r.name,
  r.state,
  r.instances.map((i) => `${i.host} pid ${i.pid}`).join(', ') || '—',
  r.group ? `${r.group.state}, ${r.group.members.length} member${r.group.members.length === 1 ? '' : 's'}` : '—',
  String(r.lag),
  r.records_in_per_s.toFixed(1),
  r.records_out_per_s.toFixed(1),
  String(r.dlq_records),
  String(r.restarts),
  r.last_error ? `${isoSecond(r.last_error.at)} ${r.last_error.message}` : '—',
];

const roleDetail = (r: RoleStatus) => ({
  partitions: r.partitions.map((p) => [p.topic, String(p.partition), p.committed ?? '—', p.end, String(p.lag)]),
  members: (r.group?.members ?? []).map((m) => [
    m.member_id,
    m.client_id,
    m.host,
    m.partitions.map((p) => `${p.topic}:${p.partition}`).join(', '),
  ]),
});

/**
 * Waits until the page's row and details of the role equal what the API answers (the page refreshes
 * every 3 s, the role reports every 0.5 s) and `ready` holds for the API's; returns that answer.
 */
async function pipelineMatches(ready: (r: RoleStatus) => boolean, what: string): Promise<RoleStatus> {
  let last = '';
  try {
    return await eventually(
      what,
      async () => {
        const { roles } = await apiJson<{ roles: RoleStatus[] }>('/v1/pipelines', keys.operator);
        const r = roles.find((s) => s.name === role.name);
        if (!r || !ready(r)) return undefined;
        const shownRow = await cells(`#pl-rows tr.role[data-name="${role.name}"]`);
        const detail = {
          partitions: await cells('#pl-partitions tbody tr'),
          members: await cells('#pl-members tbody tr'),
        };
        last = JSON.stringify({ page: [shownRow[0], detail], api: [roleCells(r), roleDetail(r)] }, null, 1);
        return JSON.stringify(shownRow[0]) === JSON.stringify(roleCells(r)) &&
          JSON.stringify(detail) === JSON.stringify(roleDetail(r))
          ? r
          : undefined;
      },
      30_000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen:\n${last}`, { cause: error });
  }
}

describe('console operations pages', () => {
  it('an admin sees every page but Pipelines, and its role beside the key', async () => {
    const nav = await logIn(page, ui.url, keys.admin);
    assert.deepEqual(nav, [
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
    assert.equal(await page.textContent('#role'), 'admin');
    await page.click('#nav a:has-text("Schemas")');
    await page.waitForSelector('#page[data-page="schemas"]');
    await page.evaluate("location.hash = '#/pipelines'");
    await page.waitForSelector('#page[data-page="finance"]', { state: 'attached' });
    assert.equal((await call('/v1/pipelines', keys.admin)).status, 403, 'as the API refuses it');
  });

  it('Topics browses records produced through the API: from a partition’s offset, and from a time by key a page at a time', async () => {
    await page.click('#nav a:has-text("Topics")');
    await page.waitForSelector('#tp-summary[data-loads]');
    await browsed(() => page.selectOption('#tp-topic', topic));

    const first = placed[0]!;
    await page.selectOption('#tp-from', 'offset');
    await page.fill('#tp-partition', String(first.partition));
    await page.fill('#tp-offset', first.offset);
    await page.fill('#tp-limit', '1');
    await browsed(() => page.click('#tp-form button[type=submit]'));
    assert.deepEqual(await page.$$eval('#tp-rows tr.record', (rows) => rows.map((r) => r.getAttribute('data-at'))), [
      `${first.partition}:${first.offset}`,
    ]);
    const atOffset = await apiJson<{ records: RecordView[] }>(
      `/v1/topics/${topic}/browse?from=${first.offset}&partition=${first.partition}&limit=1`,
      keys.admin,
    );
    assert.deepEqual(
      atOffset.records.map((r) => `${r.partition}:${r.offset}`),
      [`${first.partition}:${first.offset}`],
    );

    // from the test's start, only the symbol's key, two at a time, loading more until all five are shown
    const key = `${tenant}:${symbol}`;
    await page.selectOption('#tp-from', 'time');
    await page.fill('#tp-time', startedAt.toISOString().slice(0, 19));
    await page.fill('#tp-partition', '');
    await page.fill('#tp-key', key);
    await page.fill('#tp-limit', '2');
    const expected: RecordView[] = [];
    let cursor: string | null = null;
    for (let pages = 0; expected.length < 5; pages++) {
      const answer: { records: RecordView[]; next_cursor: string | null } = await apiJson(
        `/v1/topics/${topic}/browse?from=${startedAt.toISOString()}&key=${encodeURIComponent(key)}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        keys.admin,
      );
      expected.push(...answer.records);
      cursor = answer.next_cursor;
      await browsed(() => page.click(pages === 0 ? '#tp-form button[type=submit]' : '#tp-more'));
      assert.ok(cursor !== null || expected.length === 5, 'the API pages on to the fifth record');
    }
    assert.deepEqual(
      expected.map((r) => (r.payload as { value: { id: string } }).value.id).sort(),
      placed.map((p) => p.id).sort(),
    );
    assert.deepEqual(
      await cells('#tp-rows tr.record'),
      expected.map((r) => {
        const json = JSON.stringify((r.payload as { value: unknown }).value);
        return [
          String(r.partition),
          r.offset,
          isoSecond(r.timestamp),
          key,
          json.length > 120 ? `${json.slice(0, 120)}…` : json,
        ];
      }),
    );

    const opened = expected[2]!;
    const at = `${opened.partition}:${opened.offset}`;
    await page.click(`#tp-rows tr.record[data-at="${at}"] td:nth-child(2)`);
    const detail = await (await page.waitForSelector(`#tp-rows tr.detail[data-detail-of="${at}"]:visible`)).innerText();
    assert.equal(opened.payload.encoding, 'avro');
    for (const part of [
      `Avro, schema ${opened.payload.encoding === 'avro' ? opened.payload.schema_id : ''}`,
      JSON.stringify(opened.payload.value, null, 2),
      ...Object.entries(opened.headers).flat(),
    ])
      assert.ok(detail.includes(part), `${part} in the record's details:\n${detail}`);
    await ui.screenshot('topics');
  });

  it('Schemas lists every subject as the API does and shows a version’s fields', async () => {
    await page.click('#nav a:has-text("Schemas")');
    await page.waitForSelector('#schema-rows tr');
    type Subject = {
      topic: string;
      subject: string;
      compatibility: string | null;
      versions: { version: number; id: number; schema: { fields: { name: string; doc?: string }[] } }[];
    };
    const { subjects } = await apiJson<{ subjects: Subject[] }>('/v1/schemas', keys.admin);
    assert.deepEqual(
      await cells('#schema-rows tr'),
      subjects.map((s) => [
        s.topic,
        s.subject,
        s.compatibility ?? '—',
        s.versions.map((v) => `v${v.version}`).join('') || 'none',
      ]),
    );

    const fieldsOf = async (t: string) => {
      const latest = subjects.find((s) => s.topic === t)!.versions.at(-1)!;
      await page.click(`#schema-rows tr[data-topic="${t}"] button[data-version="${latest.version}"]`);
      await page.waitForSelector(`#schema-detail h3:has-text("${t}-value version ${latest.version}")`);
      const rows = await cells('#schema-fields tbody tr');
      assert.deepEqual(
        rows.map(([name, , doc]) => [name, doc]),
        latest.schema.fields.map((f) => [f.name, f.doc ?? '']),
        `${t}: each field and its doc`,
      );
      return Object.fromEntries(rows.map(([name, type]) => [name, type]));
    };
    const quotes = await fieldsOf(topic);
    assert.deepEqual(
      [quotes.id, quotes.ts, quotes.open, quotes.close],
      ['string', 'long (timestamp-millis)', 'null | double', 'double'],
    );
    const classified = await fieldsOf('catalog.rows.classified');
    assert.match(
      classified.attributes ?? '',
      /^map<record AttributeValue \{value: string, rule: enum MatchRule \{exact, fuzzy\}, score: double.*\}>$/,
    );
    await ui.screenshot('schemas');
  });

  it('a reader sees neither Analytics nor Pipelines, and no redrive', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login', { state: 'visible' });
    const nav = await logIn(page, ui.url, keys.reader);
    assert.deepEqual(nav, [
      'Finance',
      'Catalog',
      'Stocks',
      'Models',
      'Image datasets',
      'Topics',
      'Schemas',
      'Dead letters',
    ]);
    assert.equal(await page.textContent('#role'), 'reader');
    await page.click('#nav a:has-text("Dead letters")');
    await page.waitForSelector('#dl-summary:has-text("dead letter")');
    assert.equal(await page.isHidden('#dl-redrive'), true);
    assert.equal(await page.$$eval('#dl-rows input[type=checkbox]', (boxes) => boxes.length), 0);
  });

  it('Pipelines shows an operator the running role with its backlog, its partitions and member, and the total lag chart; then the backlog drained', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login', { state: 'visible' });
    const nav = await logIn(page, ui.url, keys.operator);
    assert.deepEqual(nav, [
      'Finance',
      'Catalog',
      'Stocks',
      'Models',
      'Image datasets',
      'Topics',
      'Schemas',
      'Dead letters',
      'Pipelines',
    ]);
    assert.equal(await page.textContent('#role'), 'operator');
    await page.click('#nav a:has-text("Pipelines")');
    await page.click(`#pl-rows tr.role[data-name="${role.name}"] td:nth-child(2)`);
    await page.waitForSelector(`#pl-detail h3:has-text("${role.name}")`);

    const waiting = await pipelineMatches(
      (r) => r.group?.state === 'Stable' && r.group.members.length === 1 && r.lag === BACKLOG,
      'the held role on the page as the API says: running, its backlog waiting',
    );
    assert.equal(waiting.state, 'running');
    assert.equal(
      await page.evaluate(
        `getComputedStyle(document.querySelector('#pl-rows tr.role[data-name="${role.name}"] .state')).backgroundColor`,
      ),
      'rgb(200, 230, 201)',
      'running is green',
    );

    await eventually('three refreshes', async () =>
      Number(await page.getAttribute('#pl-summary', 'data-refreshes')) >= 3 ? true : undefined,
    );
    assertDrawn(await chartState(page, '#pl-chart'), ['time', 'total lag'], 'the lag chart');
    await eventually('the chart’s last point is the total lag the page last read', async () => {
      const values = await valuesAtLastPoint(page, '#pl-chart');
      const total = Number(await page.getAttribute('#pl-summary', 'data-lag'));
      return values['total lag'] === shown(total) && total >= BACKLOG ? true : undefined;
    });
    await ui.screenshot('pipelines');

    role.release();
    const drained = await pipelineMatches(
      (r) => r.lag === 0 && r.partitions.every((p) => p.committed !== null),
      'the drained role on the page as the API says',
    );
    assert.equal(drained.records_in, BACKLOG);
    await ui.screenshot('pipelines-drained');
  });

  it('logged no error (no CSP violations, no page errors, no refused requests)', () => {
    assert.deepEqual(ui.errors, []);
  });
});
