import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../api/app.ts';
import { loadConfig } from '../../core/config.ts';
import { composeApi } from '../../api/compose.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { QueryGate } from '../../api/query-gate.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { flights, type Flight } from '../../testkit/helpers.ts';

const clickhouse = createClickHouse();
const db = createPostgresPool(2);
const log = createLogger('test');
const run = randomBytes(3).toString('hex');
const [tenant, other] = [`an-${run}`, `ao-${run}`];
const keys: Record<string, string> = {};
let app: App;

// real flights for the tenant; the other tenant gets the same flights with other delays
const ours = flights(3000).map((f, i) => ({ ...f, id: `${run}-f${i}`, tenant_id: tenant }));
const theirs = ours
  .slice(0, 500)
  .map((f, i) => ({ ...f, id: `${run}-g${i}`, tenant_id: other, delay: f.delay + 1000 }));

interface Score {
  id: string;
  company_id: string;
  period_end: string;
  kind: 'annual' | 'quarterly';
  probability: number;
  category: string;
}

/** mulberry32: the same scores on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const r = random(7);
const scores: Score[] = Array.from({ length: 240 }, (_, i) => {
  const probability = r() ** 3;
  const category = probability < 0.01 ? 'low' : probability < 0.05 ? 'medium' : probability < 0.2 ? 'high' : 'critical';
  const month = String(1 + (i % 12)).padStart(2, '0');
  return {
    id: `${run}-s${i}`,
    company_id: `c${i % 17}`,
    period_end: `2024-${month}-${i % 2 === 0 ? '15' : '28'}`,
    kind: i % 3 === 0 ? 'quarterly' : 'annual',
    probability,
    category,
  };
});

const lineage = (i: number) => ({ _topic: 'test.analytics', _partition: 0, _offset: i });
const flightRow = (f: Flight, i: number) => ({ ...f, event_time: Math.floor(f.event_time / 1000), ...lineage(i) });

async function insertFlights(rows: Flight[], firstOffset = 0): Promise<void> {
  await clickhouse.insert({
    table: 'samples_flights',
    values: rows.map((f, i) => flightRow(f, firstOffset + i)),
    format: 'JSONEachRow',
  });
}

const call = (url: string, key = keys.analyst!) => app.request(url, { headers: { authorization: `Bearer ${key}` } });

async function rows(url: string, key?: string): Promise<Record<string, string | number | null>[]> {
  const response = await call(url, key);
  assert.equal(response.status, 200, `${url}: ${await response.clone().text()}`);
  return ((await response.json()) as { rows: Record<string, string | number | null>[] }).rows;
}

async function refusal(url: string): Promise<{ status: number; field?: string; message: string }> {
  const response = await call(url);
  const body = (await response.json()) as { field?: string; message: string };
  return { status: response.status, ...body };
}

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
      queries: new QueryGate(
        { clickhouse, db },
        { cacheTtlMs: 60_000, inFlightPerTenant: 4, queuedPerTenant: 32, timeLimitS: 10 },
      ),
    },
  ).app;
  await createTenant(db, tenant);
  await createTenant(db, other);
  keys.analyst = (await createKey(db, tenant, 'analyst')).key;
  keys.reader = (await createKey(db, tenant, 'reader')).key;
  keys.otherAnalyst = (await createKey(db, other, 'analyst')).key;

  await insertFlights(ours);
  await insertFlights(theirs, 20_000);
  const scoreRow = (s: Score, i: number) => ({
    ...s,
    tenant_id: tenant,
    ohlson_probability: s.probability,
    zmijewski_probability: s.probability,
    altman_probability: s.probability,
    altman_z: 2,
    altman_zone: 'grey',
    model_id: 'finance.default-probability',
    model_version: '1.0.0',
    event_time: 1_700_000_000,
    ...lineage(i),
  });
  await clickhouse.insert({ table: 'finance_scores', values: scores.map(scoreRow), format: 'JSONEachRow' });
});
after(() => Promise.all([clickhouse.close(), db.end()]));

function group<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

const close = (actual: unknown, expected: number, what: string) =>
  assert.ok(
    Math.abs(Number(actual) - expected) < 1e-9 * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );

describe('analytics: aggregates', () => {
  it('flights by origin: counts, mean and max delay, distance, equal to a reference computed here', async () => {
    const got = await rows(
      '/v1/analytics/flights?dimensions=origin&metrics=flights,mean_delay,max_delay,total_distance',
    );
    const expected = group(ours, (f) => f.origin);
    assert.deepEqual(
      got.map((row) => row.origin),
      [...expected.keys()].sort(),
    );
    for (const row of got) {
      const list = expected.get(String(row.origin))!;
      assert.equal(row.flights, list.length, String(row.origin));
      close(row.mean_delay, list.reduce((s, f) => s + f.delay, 0) / list.length, `mean delay ${row.origin}`);
      assert.equal(row.max_delay, Math.max(...list.map((f) => f.delay)));
      assert.equal(
        row.total_distance,
        list.reduce((s, f) => s + f.distance, 0),
      );
    }
  });

  it('daily buckets in UTC, within from/to, filtered by two origins', async () => {
    const [from, to] = ['2001-01-05', '2001-01-20T12:00:00Z'];
    const got = await rows(
      `/v1/analytics/flights?bucket=day&from=${from}&to=${to}&filter=origin:LAX&filter=origin:SFO`,
    );
    const inRange = ours.filter(
      (f) => f.event_time >= Date.parse(from) && f.event_time < Date.parse(to) && ['LAX', 'SFO'].includes(f.origin),
    );
    assert.ok(inRange.length > 10, 'the range holds flights');
    const expected = [...group(inRange, (f) => `${new Date(f.event_time).toISOString().slice(0, 10)}T00:00:00Z`)].sort(
      ([a], [b]) => (a < b ? -1 : 1),
    );
    assert.deepEqual(
      got,
      expected.map(([bucket, list]) => ({ bucket, flights: list.length })),
    );
  });

  it('finance scores by month and category match a reference and the finance_category_counts rollup', async () => {
    const got = await rows(
      '/v1/analytics/finance_scores?bucket=month&dimensions=category&metrics=statements,mean_probability,max_probability',
    );
    const expected = group(scores, (s) => `${s.period_end.slice(0, 7)}-01T00:00:00Z|${s.category}`);
    assert.equal(got.length, expected.size);
    for (const row of got) {
      const list = expected.get(`${row.bucket}|${row.category}`)!;
      assert.ok(list, `${row.bucket} ${row.category}`);
      assert.equal(row.statements, list.length);
      close(row.mean_probability, list.reduce((s, x) => s + x.probability, 0) / list.length, 'mean probability');
      close(row.max_probability, Math.max(...list.map((x) => x.probability)), 'max probability');
    }
    const rollup = await clickhouse.query({
      query: `SELECT category, toUInt32(sum(statements)) AS statements FROM finance_category_counts WHERE tenant_id = ${quoteString(tenant)} GROUP BY category ORDER BY category`,
      format: 'JSONEachRow',
    });
    const byCategory = await rows('/v1/analytics/finance_scores?dimensions=category');
    assert.deepEqual(byCategory, await rollup.json());
  });

  it("always the caller's tenant: another tenant's analyst sees only its own flights", async () => {
    const got = await rows('/v1/analytics/flights?metrics=flights,max_delay', keys.otherAnalyst);
    assert.deepEqual(got, [{ flights: theirs.length, max_delay: Math.max(...theirs.map((f) => f.delay)) }]);
  });

  it('answers are cached per tenant and query (x-cache), and a reader may list the views but not query them', async () => {
    const url = '/v1/analytics/flights?dimensions=destination&metrics=flights';
    const miss = await call(url);
    assert.deepEqual([miss.headers.get('x-cache'), miss.headers.get('age')], ['miss', null]);
    const hit = await call(url);
    assert.deepEqual([hit.headers.get('x-cache'), hit.headers.get('age')], ['hit', '0'], 'a hit says its age');
    // the body is sent as the gate keeps it, with the headers every response carries
    assert.equal(hit.headers.get('content-type'), 'application/json');
    for (const header of ['x-request-id', 'ratelimit-remaining', 'x-content-type-options'])
      assert.ok(hit.headers.get(header), `${header} on a cached answer`);
    assert.deepEqual(await hit.json(), await miss.json());
    assert.equal(
      (await call('/v1/analytics/flights?metrics=flights&dimensions=destination,destination')).headers.get('x-cache'),
      'hit',
      'the same query, normalised',
    );
    assert.equal((await call(url, keys.otherAnalyst)).headers.get('x-cache'), 'miss');
    assert.equal((await call(url, keys.reader)).status, 403);
    const listed = await call('/v1/analytics', keys.reader);
    assert.equal(listed.status, 200);
    const views = ((await listed.json()) as { views: { name: string; buckets: string[] }[] }).views;
    assert.deepEqual(
      views.map((v) => v.name),
      ['finance_scores', 'catalog_rows', 'flights'],
    );
    assert.deepEqual(views.find((v) => v.name === 'finance_scores')?.buckets, ['day', 'week', 'month']);
  });

  it('is documented in /openapi.json', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, { get?: { parameters?: { name: string }[] } }>;
    };
    const names = doc.paths['/v1/analytics/{view}']?.get?.parameters?.map((p) => p.name);
    assert.deepEqual(names?.sort(), ['bucket', 'dimensions', 'filter', 'from', 'limit', 'metrics', 'to', 'view']);
    assert.ok(doc.paths['/v1/analytics']);
  });
});

describe('analytics: refusals', () => {
  it('unknown view, dimension, metric, filter dimension and bad bucket or time are 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['/v1/analytics/samples_flights', 'view'],
      ['/v1/analytics/flights?dimensions=tenant_id', 'dimensions'],
      ['/v1/analytics/flights?dimensions=origin%2C%20(SELECT%201)', 'dimensions'],
      ['/v1/analytics/flights?metrics=count()', 'metrics'],
      ['/v1/analytics/flights?filter=tenant_id:x', 'filter'],
      ["/v1/analytics/flights?filter=origin'%3B%20DROP:x", 'filter'],
      ['/v1/analytics/flights?bucket=year', 'bucket'],
      ['/v1/analytics/finance_scores?bucket=hour', 'bucket'],
      ['/v1/analytics/flights?from=yesterday', 'from'],
      ['/v1/analytics/flights?limit=0', 'limit'],
    ];
    for (const [url, field] of cases) {
      const response = await refusal(url);
      assert.equal(response.status, 400, url);
      assert.equal(response.field, field, `${url}: ${response.message}`);
    }
  });
});

describe('analytics: hostile filter values match literally', () => {
  const hostile = [
    "'",
    '\\',
    "\\'",
    'a\0b',
    "'; DROP TABLE samples_flights; --",
    "x' OR '1'='1",
    "\\'; DROP TABLE samples_flights; --",
    'naïve 日本 🚀',
    '"`$(id)`"',
    'line\nbreak\ttab',
    '%27%00',
  ];

  before(async () => {
    const rows = hostile.map((origin, i) => ({ ...ours[0]!, id: `${run}-h${i}`, tenant_id: tenant, origin }));
    await insertFlights(rows, 30_000);
  });

  for (const [i, value] of hostile.entries()) {
    it(`origin ${JSON.stringify(value)}`, async () => {
      const got = await rows(`/v1/analytics/flights?dimensions=origin&filter=${encodeURIComponent(`origin:${value}`)}`);
      assert.deepEqual(got, [{ origin: value, flights: 1 }], `hostile value ${i}`);
    });
  }

  it('the table is still there, with every row', async () => {
    const exists = await clickhouse.query({ query: 'EXISTS TABLE samples_flights', format: 'JSONEachRow' });
    assert.deepEqual(await exists.json(), [{ result: 1 }]);
    const got = await rows('/v1/analytics/flights?metrics=flights');
    assert.deepEqual(got, [{ flights: ours.length + hostile.length }]);
  });
});
