/**
 * Latency of one analytics query (flights by week: count, mean and 90th percentile delay over
 * 100,000 real flights of one tenant, about 130 rows) three ways, in one run: the SQL straight to ClickHouse with
 * @clickhouse/client, and GET /v1/analytics/flights through `millrace api` (a child process) with
 * the answer cache off and on. Same concurrency for each; the three take turns for ROUNDS rounds of
 * [seconds] each, and p50/p99 are computed the same way from every response's latency.
 * Run (services up, provisioned): node --import tsx bench/api-analytics.ts [seconds] [connections]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { analyticsSql, normaliseQuery } from '../api/analytics/query.ts';
import { createKey, createTenant } from '../api/auth/accounts.ts';
import { createClickHouse, type ClickHouseClient } from '../core/clickhouse.ts';
import { createPostgresPool } from '../core/postgres.ts';
import { vegaDataFile } from '../testkit/helpers.ts';
import { freePort } from '../core/free-port.ts';
import { percentile } from './percentile.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.argv[2] ?? 5);
const CONNECTIONS = Number(process.argv[3] ?? 8);
const COPIES = 10; // of the 10,000 flights
const QUERY = { metrics: 'flights,mean_delay,p90_delay', bucket: 'week' as const, limit: 1000 };
const ROUTE = `/v1/analytics/flights?metrics=${QUERY.metrics}&bucket=${QUERY.bucket}&limit=${QUERY.limit}`;

const ROUNDS = 3; // the three paths take turns, so a burst of other load on the machine hits all of them

type Sample = { latencies: number[]; seconds: number };

async function seed(tenant: string): Promise<void> {
  const raw = JSON.parse(readFileSync(vegaDataFile('flights-10k.json'), 'utf8')) as {
    date: string;
    delay: number;
    distance: number;
    origin: string;
    destination: string;
  }[];
  const clickhouse = createClickHouse();
  for (let copy = 0; copy < COPIES; copy++) {
    const values = raw.map((f, i) => ({
      id: `${tenant}-${copy}-${i}`,
      tenant_id: tenant,
      event_time:
        Math.floor(Date.parse(`${f.date.replace(/\//g, '-').replace(' ', 'T')}:00Z`) / 1000) + copy * 86_400 * 90,
      origin: f.origin,
      destination: f.destination,
      distance: f.distance,
      delay: f.delay,
      _topic: 'bench.analytics',
      _partition: 0,
      _offset: copy * raw.length + i,
    }));
    await clickhouse.insert({ table: 'samples_flights', values, format: 'JSONEachRow' });
  }
  await clickhouse.close();
}

/** CONNECTIONS concurrent loops of the query for SECONDS, each latency measured around the client call. */
async function direct(clickhouse: ClickHouseClient, sql: string, into: Sample): Promise<void> {
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        await (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json();
        into.latencies.push(performance.now() - started);
      }
    }),
  );
  into.seconds += SECONDS;
}

/** autocannon on the route for SECONDS; every response's latency, as autocannon measures it. */
async function throughApi(url: string, key: string, into: Sample): Promise<void> {
  let failures = 0;
  await new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}${ROUTE}`,
        headers: { authorization: `Bearer ${key}` },
        connections: CONNECTIONS,
        duration: SECONDS,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', (_client, status: number, _bytes, ms: number) =>
      status === 200 ? into.latencies.push(ms) : failures++,
    );
  });
  if (failures > 0) throw new Error(`${url}: ${failures} responses were not 200`);
  into.seconds += SECONDS;
}

/** `millrace api` with the answer cache set; rate limits out of the way (this measures the query path). */
async function startApi(cacheTtlMs: number, key: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const env = {
    LOG_LEVEL: 'warn',
    API_PORT: String(port),
    ANALYTICS_CACHE_TTL_MS: String(cacheTtlMs),
    RATE_LIMIT_PER_KEY: '100000000',
    RATE_LIMIT_PER_IP: '100000000',
  };
  const child = spawn(process.execPath, [path.join(root, 'bin', 'millrace.js'), 'api'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    const response = await fetch(`${url}${ROUTE}`, { headers: { authorization: `Bearer ${key}` } }).catch(
      () => undefined,
    );
    if (response?.ok) return { url, child };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGTERM');
  throw new Error('the API did not start');
}

async function main(): Promise<void> {
  const tenant = `bench-${randomBytes(3).toString('hex')}`;
  const db = createPostgresPool(1);
  await createTenant(db, tenant);
  const { key } = await createKey(db, tenant, 'analyst');
  await db.end();
  await seed(tenant);
  const sql = analyticsSql(normaliseQuery('flights', QUERY), tenant);
  process.stdout.write(
    `${COPIES * 10_000} flights of tenant ${tenant}; ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s each\nGET ${ROUTE}\n${sql}\n\n`,
  );

  const clickhouse = createClickHouse();
  const [uncached, cached] = [await startApi(0, key), await startApi(5000, key)];
  const samples: Record<string, Sample> = {};
  const paths: [string, (into: Sample) => Promise<void>][] = [
    ['ClickHouse direct (@clickhouse/client)', (into) => direct(clickhouse, sql, into)],
    ['API, cache off (ANALYTICS_CACHE_TTL_MS=0)', (into) => throughApi(uncached.url, key, into)],
    ['API, cache on (ANALYTICS_CACHE_TTL_MS=5000)', (into) => throughApi(cached.url, key, into)],
  ];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, measure] of paths) await measure((samples[name] ??= { latencies: [], seconds: 0 }));
    }
  } finally {
    for (const { child } of [uncached, cached]) child.kill('SIGTERM');
    await clickhouse.close();
  }
  process.stdout.write(
    `${'path'.padEnd(46)} ${'requests'.padStart(9)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}\n`,
  );
  for (const [name, { latencies, seconds }] of Object.entries(samples)) {
    const sorted = latencies.sort((a, b) => a - b);
    const cells = [
      String(sorted.length).padStart(9),
      (sorted.length / seconds).toFixed(0).padStart(8),
      percentile(sorted, 50).toFixed(1).padStart(8),
      percentile(sorted, 99).toFixed(1).padStart(8),
    ];
    process.stdout.write(`${name.padEnd(46)} ${cells.join(' ')}\n`);
  }
}

await main();
