/**
 * Latency of one analytics query (flights by week: count, mean and 90th percentile delay over
 * 100,000 real flights of one tenant, about 130 rows) three ways, in one run: the SQL straight to ClickHouse with
 * @clickhouse/client, and GET /v1/analytics/flights through `millrace api` (a child process) with
 * the answer cache off and on. Same concurrency and duration for each.
 * Run (services up, provisioned): node --import tsx bench/api-analytics.ts [seconds] [connections]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { analyticsSql, normaliseQuery } from '../api/analytics/query.ts';
import { createKey, createTenant } from '../api/auth/store.ts';
import { createClickHouse } from '../core/clickhouse.ts';
import { createPostgresPool } from '../core/postgres.ts';
import { vegaDataFile } from '../test/integration/helpers.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.argv[2] ?? 10);
const CONNECTIONS = Number(process.argv[3] ?? 8);
const COPIES = 10; // of the 10,000 flights
const QUERY = { metrics: 'flights,mean_delay,p90_delay', bucket: 'week' as const, limit: 1000 };
const ROUTE = `/v1/analytics/flights?metrics=${QUERY.metrics}&bucket=${QUERY.bucket}&limit=${QUERY.limit}`;

interface Row {
  path: string;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
}

async function seed(tenant: string): Promise<void> {
  const raw = JSON.parse(readFileSync(vegaDataFile('flights-10k.json'), 'utf8')) as { date: string; delay: number; distance: number; origin: string; destination: string }[];
  const clickhouse = createClickHouse();
  for (let copy = 0; copy < COPIES; copy++) {
    const values = raw.map((f, i) => ({
      id: `${tenant}-${copy}-${i}`,
      tenant_id: tenant,
      event_time: Math.floor(Date.parse(`${f.date.replace(/\//g, '-').replace(' ', 'T')}:00Z`) / 1000) + copy * 86_400 * 90,
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

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** CONNECTIONS concurrent loops of the query for SECONDS, each latency measured around the client call. */
async function direct(sql: string): Promise<Row> {
  const clickhouse = createClickHouse();
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        await (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json();
        latencies.push(performance.now() - started);
      }
    }),
  );
  await clickhouse.close();
  latencies.sort((a, b) => a - b);
  return { path: 'ClickHouse direct (@clickhouse/client)', requests: latencies.length, perSecond: latencies.length / SECONDS, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `millrace api` with extra environment; resolves once it logs that it listens. */
async function startApi(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'bin', 'millrace.js'), 'api'], {
    env: { ...process.env, LOG_LEVEL: 'warn', API_PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // at warn the listening line is not logged: poll /healthz instead
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return { url: `http://127.0.0.1:${port}`, child };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGTERM');
  throw new Error('the API did not start');
}

async function throughApi(label: string, key: string, cacheTtlMs: number): Promise<Row> {
  // rate limits out of the way: this measures the query path, not the limiter's refusals
  const { url, child } = await startApi({ ANALYTICS_CACHE_TTL_MS: String(cacheTtlMs), RATE_LIMIT_PER_KEY: '100000000', RATE_LIMIT_PER_IP: '100000000' });
  try {
    const headers = { authorization: `Bearer ${key}` };
    const warm = await fetch(`${url}${ROUTE}`, { headers });
    if (!warm.ok) throw new Error(`${label}: ${warm.status} ${await warm.text()}`);
    const result = await autocannon({ url: `${url}${ROUTE}`, headers, connections: CONNECTIONS, duration: SECONDS });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${label}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return { path: label, requests: result.requests.total, perSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

async function main(): Promise<void> {
  const tenant = `bench-${randomBytes(3).toString('hex')}`;
  const db = createPostgresPool(1);
  await createTenant(db, tenant);
  const { key } = await createKey(db, tenant, 'analyst');
  await db.end();
  await seed(tenant);
  const sql = analyticsSql(normaliseQuery('flights', QUERY), tenant);
  process.stdout.write(`${COPIES * 10_000} flights of tenant ${tenant}; ${CONNECTIONS} connections, ${SECONDS} s each\nGET ${ROUTE}\n${sql}\n\n`);

  const rows = [await direct(sql), await throughApi('API, cache off (ANALYTICS_CACHE_TTL_MS=0)', key, 0), await throughApi('API, cache on (ANALYTICS_CACHE_TTL_MS=5000)', key, 5000)];
  process.stdout.write(`${'path'.padEnd(46)} ${'requests'.padStart(9)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}\n`);
  for (const r of rows) {
    process.stdout.write(`${r.path.padEnd(46)} ${String(r.requests).padStart(9)} ${r.perSecond.toFixed(0).padStart(8)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)}\n`);
  }
}

await main();
