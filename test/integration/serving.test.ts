/**
 * Serving under concurrency, against the real ClickHouse and Postgres: identical concurrent
 * requests share one query (counted in ClickHouse's system.query_log, and by the gate for
 * Postgres), a tenant flooding the API is refused with 429 + Retry-After while another tenant's
 * requests are all answered, a query past its time limit is a 503 with Retry-After, and /metrics
 * shows request durations by route template.
 *
 * A tenant's slots are held by `SELECT sleep(3)` queries sent through the gate itself, so which
 * requests wait, share or are refused follows from counts, not from timing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import type { App } from '../../api/app.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { composeApi } from '../../api/compose.ts';
import { errorResponse } from '../../api/errors.ts';
import { QueryGate, type QueryGateSettings } from '../../api/query-gate.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';

const clickhouse = createClickHouse();
const db = createPostgresPool(10);
const log = createLogger('test');
const run = randomBytes(3).toString('hex');
const [flooder, victim] = [`sf-${run}`, `sv-${run}`];
const keys: Record<string, string> = {};
// no cache: every answer shared here is shared in flight
const settings: QueryGateSettings = { cacheTtlMs: 0, inFlightPerTenant: 2, queuedPerTenant: 4, timeLimitS: 10 };
const gate = new QueryGate({ clickhouse, db }, settings);
let app: App;

before(async () => {
  const kafka = createKafka('millrace-test');
  const registry = new Registry();
  const producer = new AvroProducer(kafka, registry); // never connected: these tests produce nothing
  app = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin: kafka.admin(), db, clickhouse },
    {
      log,
      uploads: new Uploads(db, mkdtempSync(path.join(tmpdir(), 'millrace-uploads-')), producer, log),
      checks: {},
      queries: gate,
    },
  ).app;
  for (const tenant of [flooder, victim]) {
    await createTenant(db, tenant);
    keys[tenant] = (await createKey(db, tenant, 'analyst')).key;
  }
  await db.query("INSERT INTO market_symbols (tenant_id, symbol) VALUES ($1, 'SRV')", [flooder]);
});
after(() => Promise.all([clickhouse.close(), db.end()]));

const call = (url: string, tenant = flooder) =>
  app.request(url, { headers: { authorization: `Bearer ${keys[tenant]}` } });

/**
 * Holds every running slot of `tenant` in `store` with a 3-second query until `work` is done, so
 * requests of that tenant to that store made meanwhile wait in its queue (or are refused past it).
 */
async function whileBusy<T>(
  tenant: string,
  work: (held: { done: boolean }) => Promise<T>,
  store: 'clickhouse' | 'postgres' = 'clickhouse',
): Promise<T> {
  const held = { done: false };
  const holds = Promise.all(
    Array.from({ length: settings.inFlightPerTenant }, (_, i) =>
      store === 'clickhouse'
        ? gate.clickhouse(tenant, 'test', `SELECT sleep(3) AS slept, ${i} AS hold`, (rows) => rows)
        : gate.postgres(tenant, 'SELECT pg_sleep(3), $1::int AS hold', [i]),
    ),
  ).then(() => (held.done = true));
  const result = await work(held);
  await holds;
  return result;
}

/** Finished ClickHouse queries whose text holds every one of `parts`. */
async function queriesLogged(...parts: string[]): Promise<number> {
  await clickhouse.command({ query: 'SYSTEM FLUSH LOGS' });
  const where = parts.map((p) => `position(query, ${quoteString(p)}) > 0`).join(' AND ');
  const result = await clickhouse.query({
    // type 2: QueryFinish; the query_log reads themselves are left out
    query: `SELECT count() AS n FROM system.query_log WHERE type = 2 AND ${where} AND position(query, 'system.query_log') = 0`,
    format: 'JSONEachRow',
  });
  return Number((await result.json<{ n: string }>())[0]!.n);
}

/** The value of one series of /metrics, 0 when absent. */
async function metric(name: string, labels: string): Promise<number> {
  const text = await (await app.request('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const N = 12;

describe('coalescing: identical concurrent requests share one query', () => {
  it(`${N} identical analytics requests: one ClickHouse query in system.query_log, the same answer for all`, async () => {
    const marker = `coalesce-${run}`;
    const url = `/v1/analytics/flights?dimensions=origin&metrics=flights,mean_delay&filter=origin:${marker}`;
    const responses = await whileBusy(flooder, () => Promise.all(Array.from({ length: N }, () => call(url))));
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(N).fill(200),
    );
    const sources = responses.map((r) => r.headers.get('x-cache')).sort();
    assert.deepEqual(sources, ['miss', ...Array(N - 1).fill('shared')]);
    const bodies = new Set(await Promise.all(responses.map((r) => r.text())));
    assert.equal(bodies.size, 1);
    assert.equal(await queriesLogged(marker), 1);
  });

  it(`${N} identical market bars and ${N} indicators requests: one ClickHouse query each`, async () => {
    const urls = ['/v1/stocks/SRV/quotes?from=2020-01-01&to=2020-12-31', '/v1/stocks/SRV/indicators?from=2020-01-01'];
    const responses = await whileBusy(flooder, () =>
      Promise.all(urls.flatMap((url) => Array.from({ length: N }, () => call(url)))),
    );
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(2 * N).fill(200),
    );
    assert.equal(await queriesLogged(`tenant_id = '${flooder}'`, 'market_quotes FINAL', "'2020-12-31'"), 1);
    assert.equal(await queriesLogged(`tenant_id = '${flooder}'`, 'market_indicators', "'2020-01-01'"), 1);
  });

  it(`${N} identical companies and predictions lists: one Postgres query each, N - 1 shared`, async () => {
    const shared = () => metric('millrace_query_gate_total', 'store="postgres",outcome="shared"');
    const before = await shared();
    const responses = await whileBusy(
      flooder,
      () =>
        Promise.all(
          ['/v1/companies?limit=7', '/v1/predictions?limit=7'].flatMap((url) =>
            Array.from({ length: N }, () => call(url)),
          ),
        ),
      'postgres',
    );
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(2 * N).fill(200),
    );
    assert.equal((await shared()) - before, 2 * (N - 1));
  });

  it('never across tenants: the same request of two tenants runs twice', async () => {
    const marker = `tenants-${run}`;
    const url = `/v1/analytics/flights?filter=origin:${marker}`;
    const responses = await whileBusy(flooder, () =>
      whileBusy(victim, () => Promise.all([call(url, flooder), call(url, victim), call(url, flooder)])),
    );
    const [first, theirs, second] = responses.map((r) => r.headers.get('x-cache'));
    assert.deepEqual([[first, second].sort(), theirs], [['miss', 'shared'], 'miss']);
    assert.equal(await queriesLogged(marker), 2);
  });
});

describe('fairness: a tenant over its share waits or gets 429, the others are answered', () => {
  it('a flood of 40 distinct queries: its queue takes 4, 36 get 429 with Retry-After; the other tenant gets all its answers meanwhile', async () => {
    const flood = 40;
    const { floods, victims, victimsBeforeHoldsEnd } = await whileBusy(flooder, async (held) => {
      const floods = Promise.all(
        Array.from({ length: flood }, (_, i) => call(`/v1/analytics/flights?filter=origin:flood-${run}-${i}`)),
      );
      const victims = await Promise.all(
        Array.from({ length: settings.inFlightPerTenant + settings.queuedPerTenant }, (_, i) =>
          call(`/v1/analytics/flights?filter=origin:victim-${run}-${i}`, victim),
        ),
      );
      const victimsBeforeHoldsEnd = !held.done;
      return { floods: await floods, victims, victimsBeforeHoldsEnd };
    });
    assert.deepEqual(
      victims.map((r) => r.status),
      Array(victims.length).fill(200),
    );
    assert.ok(victimsBeforeHoldsEnd, "the other tenant's requests were answered while the flooder's slots were held");
    const refused = floods.filter((r) => r.status === 429);
    const answered = floods.filter((r) => r.status === 200);
    assert.equal(answered.length, settings.queuedPerTenant, 'the queued ones are answered once the slots free');
    assert.equal(refused.length, flood - settings.queuedPerTenant);
    for (const response of refused) {
      assert.equal(response.headers.get('retry-after'), '1');
      assert.equal(((await response.json()) as { error: string }).error, 'too_many_queries');
    }
    // the share frees with the slots: the flooder is answered again
    assert.equal((await call(`/v1/analytics/flights?filter=origin:after-${run}`)).status, 200);
  });
});

describe('stale while revalidate', () => {
  it("past its TTL an answer is returned at once, the tenant's slots all held, and refreshed outside them", async () => {
    const swr = new QueryGate({ clickhouse, db }, { ...settings, cacheTtlMs: 1000, cacheStaleMs: 60_000 });
    const ask = () => swr.clickhouse(flooder, 'test', `SELECT rand() AS r, '${run}' AS swr`, (rows) => rows[0]?.r);
    const first = await ask();
    assert.equal(first.source, 'queried');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const held = { done: false };
    const holds = Promise.all(
      Array.from({ length: settings.inFlightPerTenant }, (_, i) =>
        swr.clickhouse(flooder, 'test', `SELECT sleep(3) AS slept, ${i} AS swr_hold`, (rows) => rows),
      ),
    ).then(() => (held.done = true));
    const stale = await ask();
    assert.deepEqual([stale.source, stale.answer], ['stale', first.answer]);
    assert.ok(stale.ageMs !== undefined && stale.ageMs >= 1000, `age ${stale.ageMs}`);
    let refreshed = stale;
    while (refreshed.answer === first.answer && !held.done) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      refreshed = await ask();
    }
    assert.equal(held.done, false, "the refresh did not wait for the tenant's slots");
    assert.equal(refreshed.source, 'cached');
    assert.notEqual(refreshed.answer, first.answer, 'a new answer, from a second query');
    await holds;
  });
});

describe('time limit', () => {
  it('a ClickHouse query past its limit is a 503 query_timeout with Retry-After', async () => {
    const strict = new QueryGate({ clickhouse, db }, { ...settings, timeLimitS: 1 });
    const slow = new Hono();
    slow.get('/slow', async (c) =>
      c.json((await strict.clickhouse(victim, 'test', 'SELECT sleep(2) AS slept', (rows) => rows)).answer),
    );
    slow.onError((error, c) => errorResponse(c, error, log));
    const response = await slow.request('/slow');
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '10');
    assert.equal(((await response.json()) as { error: string }).error, 'query_timeout');
  });
});

describe('metrics', () => {
  it('/metrics: request durations by route template (never the raw path), requests in flight, ClickHouse time by view', async () => {
    assert.equal((await call('/v1/stocks/NOPE/quotes')).status, 404);
    assert.equal((await app.request(`/no-such-${run}`)).status, 404);
    const text = await (await app.request('/metrics')).text();
    const series = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));
    const durations = series('http_request_duration_seconds_count');
    for (const labels of [
      'route="/v1/analytics/:view",method="GET",status="200"',
      'route="/v1/analytics/:view",method="GET",status="429"',
      'route="/v1/stocks/:symbol/quotes",method="GET",status="200"',
      'route="/v1/stocks/:symbol/quotes",method="GET",status="404"',
      'route="/v1/companies",method="GET",status="200"',
      'route="unmatched",method="GET",status="404"',
    ])
      assert.ok(
        durations.some((l) => l.includes(`{${labels}}`)),
        `${labels} in:\n${durations.join('\n')}`,
      );
    assert.ok(series('http_request_duration_seconds_bucket').some((l) => l.includes('le="0.05"')));
    for (const raw of [flooder, 'NOPE', 'no-such', 'flood-'])
      assert.ok(!text.includes(raw), `no raw path, tenant or marker in a label: ${raw}`);
    assert.ok(series('http_requests_in_flight').some((l) => l.includes('route="/metrics"')));
    for (const view of ['flights', 'market_quotes', 'market_indicators'])
      assert.ok(
        series('millrace_clickhouse_query_duration_seconds_count').some((l) => l.includes(`view="${view}"`)),
        view,
      );
  });
});
