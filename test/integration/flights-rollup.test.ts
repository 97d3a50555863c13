/**
 * The hourly flights rollup (sql/clickhouse/0010_flights_rollup.sql): the analytics API answers from
 * it exactly what the raw table answers, on random questions, and a REBUILD TABLE of samples_flights
 * keeps it fed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import type { App } from '../../api/app.ts';
import { analyticsSql, namedRows, normaliseQuery, rollupFor, type AnalyticsParams } from '../../api/analytics/query.ts';
import { BUCKETS, VIEWS } from '../../api/analytics/views.ts';
import { composeApi } from '../../api/compose.ts';
import { QueryGate } from '../../api/query-gate.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { TableRebuild } from '../../core/clickhouse-rebuild.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { ensureClickHouseDatabase, migrateClickHouse } from '../../core/migrations.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { flights, type Flight } from '../../testkit/helpers.ts';

const clickhouse = createClickHouse();
const db = createPostgresPool(2);
const run = randomBytes(3).toString('hex');
const [tenant, other] = [`ru-${run}`, `rv-${run}`];
let key: string;
let app: App;

const ours = flights(10_000).map((f, i) => ({ ...f, id: `${run}-f${i}`, tenant_id: tenant }));
// another tenant's flights in the same hours must not leak into ours
const theirs = ours.slice(0, 2000).map((f, i) => ({ ...f, id: `${run}-g${i}`, tenant_id: other, delay: 999 }));
const origins = [...new Set(ours.map((f) => f.origin))].sort();
const destinations = [...new Set(ours.map((f) => f.destination))].sort();

async function insertFlights(client: typeof clickhouse, rows: Flight[], firstOffset: number): Promise<void> {
  await client.insert({
    table: 'samples_flights',
    values: rows.map((f, i) => ({
      ...f,
      event_time: Math.floor(f.event_time / 1000),
      _topic: 'test.rollup',
      _partition: 0,
      _offset: firstOffset + i,
    })),
    format: 'JSONEachRow',
  });
}

before(async () => {
  const kafka = createKafka('millrace-test');
  const registry = new Registry();
  const producer = new AvroProducer(kafka, registry); // never connected: these tests produce nothing
  const log = createLogger('test');
  app = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin: kafka.admin(), db, clickhouse },
    {
      log,
      uploads: new Uploads(db, mkdtempSync(path.join(tmpdir(), 'millrace-uploads-')), producer, log),
      checks: {},
      queries: new QueryGate(
        { clickhouse, db },
        { cacheTtlMs: 0, inFlightPerTenant: 4, queuedPerTenant: 32, timeLimitS: 10 },
      ),
    },
  ).app;
  await createTenant(db, tenant);
  key = (await createKey(db, tenant, 'analyst')).key;
  // in several inserts, as a sink writes batches: the rollup holds several states per hour until merged
  for (let i = 0; i < ours.length; i += 2500) await insertFlights(clickhouse, ours.slice(i, i + 2500), i);
  await insertFlights(clickhouse, theirs, 20_000);
});
after(() => Promise.all([clickhouse.close(), db.end()]));

const [HOUR, DAY] = [3_600_000, 86_400_000];
const [first, last] = [Date.parse('2000-12-30T00:00:00Z'), Date.parse('2001-04-02T00:00:00Z')];

/** An instant in the data's range: on a day or an hour (a rollup fits) or anywhere (none does). */
const instant = fc.oneof(
  fc.integer({ min: first / DAY, max: last / DAY }).map((d) => d * DAY),
  fc.integer({ min: first / HOUR, max: last / HOUR }).map((h) => h * HOUR),
  fc.integer({ min: first / 1000, max: last / 1000 }).map((s) => s * 1000),
);

const params: fc.Arbitrary<AnalyticsParams> = fc
  .record({
    bucket: fc.option(fc.constantFrom(...BUCKETS), { nil: undefined }),
    // many questions without destinations: those the rollups answer
    dimensions: fc.oneof(
      fc.constant<string[]>([]),
      fc.constant(['origin']),
      fc.subarray(['origin', 'destination']).chain((d) => fc.shuffledSubarray(d, { minLength: d.length })),
    ),
    metrics: fc.shuffledSubarray(Object.keys(VIEWS.flights.metrics), { minLength: 1 }),
    range: fc.tuple(fc.option(instant, { nil: undefined, freq: 2 }), fc.option(instant, { nil: undefined, freq: 2 })),
    filter: fc.oneof(
      fc.constant<string[]>([]),
      fc.array(
        fc.constantFrom(...origins).map((o) => `origin:${o}`),
        { maxLength: 3 },
      ),
      fc.array(
        fc.oneof(
          fc.constantFrom(...origins).map((o) => `origin:${o}`),
          fc.constantFrom(...destinations).map((d) => `destination:${d}`),
          fc.constant('origin:NOWHERE'),
        ),
        { maxLength: 4 },
      ),
    ),
    limit: fc.constantFrom(3, 50, 10_000),
  })
  .map(({ bucket, dimensions, metrics, range: [a, b], filter, limit }) => {
    const [from, to] = a !== undefined && b !== undefined && a > b ? [b, a] : [a, b];
    return {
      ...(bucket ? { bucket } : {}),
      dimensions: dimensions.join(','),
      metrics: metrics.join(','),
      ...(from === undefined ? {} : { from: new Date(from).toISOString() }),
      ...(to === undefined || to === from ? {} : { to: new Date(to).toISOString() }),
      filter,
      limit,
    };
  });

function url(p: AnalyticsParams): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(p)) {
    for (const v of Array.isArray(value) ? value : [value])
      if (v !== undefined && v !== '') search.append(name, String(v));
  }
  return `/v1/analytics/flights?${search}`;
}

describe('flights rollup', () => {
  it('the API answers random flights questions from the rollup exactly as from the raw table', async () => {
    const tables = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(params, async (p) => {
        const query = normaliseQuery('flights', p);
        const table = rollupFor(query)?.table ?? 'samples_flights';
        tables.set(table, (tables.get(table) ?? 0) + 1);
        const response = await app.request(url(p), { headers: { authorization: `Bearer ${key}` } });
        assert.equal(response.status, 200, await response.clone().text());
        const api = (await response.json()) as { rows: unknown[]; truncated: boolean };
        // the raw table, as Analytics.run reads it, with the rollup not allowed
        const result = await clickhouse.query({
          query: analyticsSql(query, tenant, { rollups: false }),
          format: 'JSONEachRow',
        });
        const raw = namedRows(query, await result.json<Record<string, unknown>>());
        assert.deepEqual(api.rows, raw.slice(0, query.limit));
        assert.equal(api.truncated, raw.length > query.limit);
      }),
      { numRuns: 400, seed: Number.parseInt(run, 16) },
    );
    const read = JSON.stringify(Object.fromEntries(tables));
    for (const table of ['samples_flights', ...VIEWS.flights.rollups.map((r) => r.table)])
      assert.ok((tables.get(table) ?? 0) >= 15, `questions per table: ${read}`);
  });

  it('counts what the raw table counts, per tenant and hour or day', async () => {
    const byHour = (table: string, count: string, hour: string) =>
      clickhouse
        .query({
          query: `SELECT tenant_id, ${hour} AS h, ${count} AS n FROM ${table} WHERE tenant_id IN (${quoteString(tenant)}, ${quoteString(other)}) GROUP BY tenant_id, h ORDER BY tenant_id, h`,
          format: 'JSONEachRow',
        })
        .then((r) => r.json());
    const raw = await byHour('samples_flights', 'count()', "toStartOfHour(event_time, 'UTC')");
    assert.equal(raw.length > 1000, true);
    assert.deepEqual(await byHour('samples_flights_hourly', 'countMerge(flights)', 'hour'), raw);
    const days = await byHour('samples_flights', 'count()', "toStartOfDay(event_time, 'UTC')");
    assert.deepEqual(await byHour('samples_flights_daily', 'countMerge(flights)', 'day'), days);
    assert.deepEqual(await byHour('samples_flights_daily_origin', 'countMerge(flights)', 'day'), days);
  });
});

describe('flights rollup and REBUILD TABLE', () => {
  const database = `millrace_rollup_${run}`;
  const scratch = createClickHouse(database);
  const count = async (query: string) =>
    Number(((await (await scratch.query({ query, format: 'JSONEachRow' })).json()) as { n: string }[])[0]!.n);
  after(async () => {
    await scratch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await scratch.close();
  });

  it('backfills existing rows, and a rebuild (copy, RENAME) keeps the rollup fed without counting the copy', async () => {
    const system = createClickHouse('default');
    await ensureClickHouseDatabase(system, database);
    await system.close();
    const migrations = path.join(loadConfig().repoRoot, 'sql', 'clickhouse');
    // a database with flights stored before the rollup existed: migrations up to 0009, flights, then 0010
    const upTo = (last: string) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'millrace-migrations-'));
      for (const f of readdirSync(migrations).filter((f) => f.endsWith('.sql') && f <= last))
        copyFileSync(path.join(migrations, f), path.join(dir, f));
      return dir;
    };
    await migrateClickHouse(scratch, upTo('0009_~'));
    await insertFlights(scratch, ours.slice(0, 3000), 0);
    assert.deepEqual(await migrateClickHouse(scratch, upTo('0010_~')), ['0010_flights_rollup.sql']);
    const rolled = () =>
      Promise.all(VIEWS.flights.rollups.map((r) => count(`SELECT countMerge(flights) AS n FROM ${r.table}`)));
    assert.deepEqual(await rolled(), [3000, 3000, 3000]);

    await insertFlights(scratch, ours.slice(3000, 4000), 3000);
    await new TableRebuild(
      scratch,
      'samples_flights',
      'ENGINE = ReplacingMergeTree(_offset) PARTITION BY toYYYYMM(event_time) ORDER BY (tenant_id, event_time, origin, id)',
      'test-rebuild',
    ).run();
    assert.deepEqual(await rolled(), [4000, 4000, 4000], 'the copy into samples_flights__next is not rolled up');
    await insertFlights(scratch, ours.slice(4000, 5000), 4000);
    assert.equal(await count('SELECT count() AS n FROM samples_flights'), 5000);
    assert.deepEqual(await rolled(), [5000, 5000, 5000], 'inserts into the rebuilt table feed the rollups');
  });
});
