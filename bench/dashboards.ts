/**
 * Dashboards at scale (issue 18): data loaded through the real pipeline, then a dashboard mix at
 * 50 connections through the API and straight to the databases, in one run.
 *
 * Load, through the real sinks and processor (each its own `millrace` process, run-specific topics):
 *   flights     the 3M real flights of flights-3m.parquet replayed under TENANTS tenants, each copy
 *               shifted 52 weeks, to --flights (10,000,000) -> samples-flights-clickhouse
 *   finance     --scores (1,000,000) statements -> finance-scoring processor -> finance-scores-
 *               clickhouse and finance-scores-postgres
 *   catalog     --rows (1,000,000) product rows, titles and genres from vega-datasets movies.json as
 *               the reference classification (the classifier itself runs 1,650 rows/s, see
 *               BENCHMARKS.md) -> catalog-rows-clickhouse
 *   market      vega-datasets stocks.csv (monthly closes) per tenant, its five symbols watched ->
 *               market-quotes-clickhouse
 * Serve: QUERIES_PER_TENANT different dashboard requests per tenant (analytics views by day, week or
 * month with 1-3 dimensions and filters, market quotes, companies), CONNECTIONS closed loops for
 * --seconds each, every loop starting at a different place in the shuffled list:
 *   API, cache off     `millrace api` with ANALYTICS_CACHE_TTL_MS=0
 *   direct             the same queries' SQL straight to ClickHouse (@clickhouse/client, the API's
 *                      client settings) or Postgres (pg), as the API would run them
 *   API, cache on      ANALYTICS_CACHE_TTL_MS=5000 (the default), ANALYTICS_CACHE_STALE_MS=0
 *   API, stale         the defaults, 5 s fresh and 30 s stale while refreshed: two rounds on one
 *                      API process, the first from a cold cache
 *   before, direct     the same questions in the layout before issue 18 (tables sorted by id alone,
 *                      unpartitioned, read with FINAL, no rollups; bars through the market_quotes_daily
 *                      view), copied into a scratch database
 * Prints a table and writes bench/results/dashboards-<time>.json.
 * Run with a database of its own (the load stays there; --skip-load serves what it holds):
 *   psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE millrace_dash'
 *   CLICKHOUSE_DATABASE=millrace_dash POSTGRES_URL=postgres://postgres@127.0.0.1:5432/millrace_dash \
 *     npm run bench -- dashboards [--flights N] [--scores N] [--rows N] [--seconds N] [--skip-load]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Message, Producer } from 'kafkajs';
import { analyticsSql, normaliseQuery, type AnalyticsParams } from '../api/analytics/query.ts';
import type { ViewName } from '../api/analytics/views.ts';
import { createKey, createTenant } from '../api/auth/accounts.ts';
import { createClickHouse } from '../core/clickhouse.ts';
import { loadConfig } from '../core/config.ts';
import { createKafka, producerDefaults } from '../core/kafka.ts';
import { createPostgresPool } from '../core/postgres.ts';
import { provisionTopics, registerSchemas } from '../core/provision.ts';
import { Registry } from '../core/schema-registry.ts';
import { resolveTopic } from '../core/topic-checks.ts';
import { valueSubjectOf } from '../schemas/topic-spec.ts';
import { freePort } from '../core/free-port.ts';
import { statementStream } from '../testkit/finance-statements.ts';
import { parquetFlights } from '../testkit/flights-parquet.ts';
import { eventually, vegaDataFile } from '../testkit/helpers.ts';
import { percentile } from './percentile.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const { values: opts } = parseArgs({
  options: {
    flights: { type: 'string', default: '10000000' },
    scores: { type: 'string', default: '1000000' },
    rows: { type: 'string', default: '1000000' },
    tenants: { type: 'string', default: '30' },
    seconds: { type: 'string', default: '60' },
    connections: { type: 'string', default: '50' },
    'skip-load': { type: 'boolean', default: false },
    /** the paths to measure, comma-separated: off, direct, on, stale, before */
    paths: { type: 'string', default: 'off,direct,on,stale,before' },
    /** an API already running (started by hand, say with --cpu-prof): the API paths ask it instead of one of their own */
    'api-url': { type: 'string' },
  },
});
const FLIGHTS = Number(opts.flights);
const SCORES = Number(opts.scores);
const ROWS = Number(opts.rows);
const TENANTS = Number(opts.tenants);
const SECONDS = Number(opts.seconds);
const CONNECTIONS = Number(opts.connections);
const QUERIES_PER_TENANT = 24;
const SEND = 5_000;
const WEEK_MS = 7 * 86_400_000;
const TENANT_PREFIX = 'dash-t';
const run = randomBytes(3).toString('hex');
const { CLICKHOUSE_DATABASE } = loadConfig();
const BEFORE_DB = `${CLICKHOUSE_DATABASE}_before`;
const kafka = createKafka('millrace-bench-dashboards');
const registry = new Registry();
const clickhouse = createClickHouse();
const db = createPostgresPool(CONNECTIONS);
const say = (text: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
const results: Record<string, unknown> = { date: new Date().toISOString(), run };
const resultsFile = path.join(here, 'results', `dashboards-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const save = () => {
  mkdirSync(path.dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, JSON.stringify(results, null, 2));
};
const chCount = async (sql: string) =>
  Number((await (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);

interface Tenant {
  id: string;
  key: string;
}

/** TENANTS tenants named dash-t<i>, made once: --skip-load finds them again (keys are made anew). */
async function tenants(): Promise<Tenant[]> {
  const out: Tenant[] = [];
  for (let i = 0; i < TENANTS; i++) {
    const name = `${TENANT_PREFIX}${i}`;
    const existing = await db.query<{ id: string }>('SELECT id FROM tenants WHERE name = $1', [name]);
    const id = existing.rows[0]?.id ?? (await createTenant(db, name)).id;
    out.push({ id, key: (await createKey(db, id, 'analyst', 'bench-dashboards')).key });
  }
  return out;
}

function child(args: string[], name: string): ChildProcess {
  const proc = spawn(process.execPath, [path.join(root, 'bin', 'millrace.js'), ...args], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  proc.stderr!.on('data', (d: Buffer) =>
    String(d).includes('"level":50') || String(d).includes('"level":60')
      ? say(`${name}: ${String(d).slice(0, 400)}`)
      : undefined,
  );
  return proc;
}
const stop = (proc: ChildProcess) =>
  new Promise<void>((resolve) =>
    proc.exitCode !== null ? resolve() : (proc.once('exit', () => resolve()), proc.kill('SIGTERM')),
  );

async function benchTopic(stage: string, schema: string): Promise<string> {
  const topic = resolveTopic(
    {
      name: `bench.dash_${run}.${stage}`,
      partitions: 6,
      cleanup: { policy: 'delete', retentionMs: 86_400_000 },
      schema,
    },
    path.join(root, 'schemas'),
  );
  await provisionTopics(kafka, [topic]);
  await registerSchemas(registry, [topic]);
  return topic.name;
}

async function produce(producer: Producer, topic: string, records: AsyncIterable<{ id: string }[]>): Promise<void> {
  const subject = valueSubjectOf(topic);
  for await (const chunk of records)
    for (let i = 0; i < chunk.length; i += SEND) {
      const messages: Message[] = [];
      for (const r of chunk.slice(i, i + SEND)) messages.push({ key: r.id, value: await registry.encode(subject, r) });
      await producer.send({ topic, acks: -1, messages });
    }
}

async function* flightRecords(ts: Tenant[]) {
  for (let copy = 0, sent = 0; sent < FLIGHTS; copy++) {
    for await (const chunk of parquetFlights(Math.min(3_000_000, FLIGHTS - sent), { idPrefix: `c${copy}-` })) {
      yield chunk.map((f, i) => ({
        ...f,
        tenant_id: ts[(sent + i) % ts.length]!.id,
        event_time: f.event_time + copy * 52 * WEEK_MS,
      }));
      sent += chunk.length;
    }
  }
}

async function* statementRecords(ts: Tenant[]) {
  const stream = statementStream(`s${run}`);
  for (let i = 0; i < SCORES; i += SEND)
    yield Array.from({ length: Math.min(SEND, SCORES - i) }, (_, j) => ({
      ...stream.next().value,
      tenant_id: ts[(i + j) % ts.length]!.id,
    }));
}

const movies = (
  JSON.parse(readFileSync(vegaDataFile('movies.json'), 'utf8')) as {
    Title: string | number | null;
    'Major Genre': string | null;
  }[]
).map((m) => ({ title: String(m.Title ?? 'Untitled'), genre: m['Major Genre'] }));

async function* catalogRecords(ts: Tenant[]) {
  const start = Date.UTC(2026, 0, 1);
  for (let i = 0; i < ROWS; i += SEND)
    yield Array.from({ length: Math.min(SEND, ROWS - i) }, (_, j) => {
      const n = i + j;
      const tenant = ts[n % ts.length]!;
      const upload = `up-${Math.floor(n / (ts.length * 10_000))}`; // 10,000 rows an upload
      const movie = movies[n % movies.length]!;
      return {
        id: `${upload}:${n}`,
        tenant_id: tenant.id,
        event_time: start + n * 30_000,
        upload_id: upload,
        row_number: n,
        taxonomy: 'films@1',
        genre: movie.genre,
        confidence: movie.genre ? 1 : 0,
        decided_by: movie.genre ? 'reference' : 'none',
        model_id: 'reference',
        model_version: '1',
        attributes: {},
        fields: { title: movie.title },
        source_topic: 'catalog.rows.raw',
        source_partition: 0,
        source_offset: n,
      };
    });
}

const stocks = readFileSync(vegaDataFile('stocks.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [symbol, date, price] = line.split(',');
    return { symbol: symbol!, ts: Date.parse(`${date} UTC`), close: Number(price) };
  });
const SYMBOLS = [...new Set(stocks.map((s) => s.symbol))];

async function* quoteRecords(ts: Tenant[]) {
  for (const [t, tenant] of ts.entries())
    yield stocks.map((s) => ({
      id: `${s.symbol}:${s.ts}`,
      tenant_id: tenant.id,
      event_time: s.ts,
      symbol: s.symbol,
      ts: s.ts,
      source: 'vega-datasets stocks.csv',
      open: null,
      high: null,
      low: null,
      close: s.close * (1 + t / 100), // each tenant's prices its own
      volume: null,
      source_url: null,
    }));
}

/** Every record through its sink (and finance through the scoring processor), until the tables hold them all. */
async function load(ts: Tenant[]): Promise<void> {
  const topics = {
    flights: await benchTopic('flights', 'samples.flights.raw.avsc'),
    statements: await benchTopic('statements', 'finance.statements.raw.avsc'),
    scores: await benchTopic('scores', 'finance.statements.scored.avsc'),
    catalog: await benchTopic('catalog', 'catalog.rows.classified.avsc'),
    quotes: await benchTopic('quotes', 'market.quotes.raw.avsc'),
  };
  const sink = (name: string, topic: string) =>
    child(
      ['sink', name, '--topic', topic, '--as', `bench-dash-${run}-${name}`, '--max-rows', '10000', '--max-ms', '500'],
      name,
    );
  const roles = [
    sink('samples-flights-clickhouse', topics.flights),
    sink('finance-scores-clickhouse', topics.scores),
    sink('finance-scores-postgres', topics.scores),
    sink('catalog-rows-clickhouse', topics.catalog),
    sink('market-quotes-clickhouse', topics.quotes),
    child(['processor', 'finance-scoring', '--input', topics.statements, '--output', topics.scores], 'finance-scoring'),
  ];
  for (const t of ts)
    for (const symbol of SYMBOLS)
      await db.query('INSERT INTO market_symbols (tenant_id, symbol) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        t.id,
        symbol,
      ]);
  const producer = kafka.producer({ ...producerDefaults, idempotent: true });
  await producer.connect();
  const started = performance.now();
  const stage = async (name: string, work: () => Promise<void>) => {
    const at = performance.now();
    await work();
    say(`${name}: ${((performance.now() - at) / 1000).toFixed(1)} s`);
    (results.load as Record<string, number>)[name] = Math.round(performance.now() - at) / 1000;
    save();
  };
  results.load = {};
  try {
    await stage('produced quotes', () => produce(producer, topics.quotes, quoteRecords(ts)));
    await stage('produced statements', () => produce(producer, topics.statements, statementRecords(ts)));
    await stage('produced catalog rows', () => produce(producer, topics.catalog, catalogRecords(ts)));
    await stage('produced flights', () => produce(producer, topics.flights, flightRecords(ts)));
    const wanted: [string, () => Promise<number>, number][] = [
      [
        'flights',
        () => chCount(`SELECT count() AS n FROM samples_flights WHERE _topic = '${topics.flights}'`),
        FLIGHTS,
      ],
      ['scores', () => chCount(`SELECT count() AS n FROM finance_scores WHERE _topic = '${topics.scores}'`), SCORES],
      [
        'scores in Postgres',
        async () =>
          Number(
            (await db.query<{ n: string }>('SELECT count(*) AS n FROM finance_scores WHERE id LIKE $1', [`s${run}-%`]))
              .rows[0]!.n,
          ),
        SCORES,
      ],
      ['catalog rows', () => chCount(`SELECT count() AS n FROM catalog_rows WHERE _topic = '${topics.catalog}'`), ROWS],
      [
        'quotes',
        () => chCount(`SELECT count() AS n FROM market_quotes WHERE _topic = '${topics.quotes}'`),
        stocks.length * ts.length,
      ],
    ];
    for (const [name, counted, n] of wanted)
      await stage(`${name} all stored`, async () => {
        await eventually(`${n} ${name}`, async () => ((await counted()) >= n ? true : undefined), 3_600_000);
      });
    say(`loaded in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await producer.disconnect();
    await Promise.all(roles.map(stop));
  }
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: Object.values(topics) }).catch((e: Error) => say(`topics kept: ${e.message}`));
  await admin.disconnect();
}

/** One dashboard request: its API path and how to run the same query straight to the store. */
interface Request {
  tenant: Tenant;
  path: string;
  label: string;
  direct: () => Promise<unknown>;
  before: () => Promise<unknown>;
}

const chJson = (sql: string) => async () => (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json();
/** The analytics SQL against the pre-issue-18 copy: tables sorted by id, read with FINAL, no rollups. */
const beforeSql = (sql: string) =>
  sql
    .replace(/FROM samples_flights\n/, `FROM ${BEFORE_DB}.samples_flights FINAL\n`)
    .replace(/FROM (finance_scores|catalog_rows) FINAL/, `FROM ${BEFORE_DB}.$1 FINAL`);

/** QUERIES_PER_TENANT requests per tenant, their parameters drawn from a generator seeded by the tenant. */
async function requests(ts: Tenant[]): Promise<Request[]> {
  const [span] = await (
    await clickhouse.query({
      query:
        'SELECT toUnixTimestamp(min(event_time)) AS lo, toUnixTimestamp(max(event_time)) AS hi FROM samples_flights',
      format: 'JSONEachRow',
    })
  ).json<{ lo: string; hi: string }>();
  const [lo, hi] = [Number(span!.lo) * 1000, Number(span!.hi) * 1000];
  const airports = ['ORD', 'ATL', 'DFW', 'LAX', 'DEN', 'PHX', 'IAH', 'LAS', 'DTW', 'SFO'];
  const genres = ['Drama', 'Comedy', 'Action', 'Thriller/Suspense', 'Adventure'];
  const out: Request[] = [];
  for (const [t, tenant] of ts.entries()) {
    let seed = 7 + t;
    const r = (n: number) => (seed = (seed * 16807) % 2147483647) % n;
    const pick = <T>(list: readonly T[]) => list[r(list.length)]!;
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const analytics = (view: ViewName, params: Omit<AnalyticsParams, 'limit'>) => {
      const query = normaliseQuery(view, { ...params, limit: 1000 });
      const qs = new URLSearchParams(
        Object.entries(params).filter(([, v]) => v !== undefined) as [string, string][],
      ).toString();
      out.push({
        tenant,
        label: `analytics ${view}`,
        path: `/v1/analytics/${view}?${qs}&limit=1000`,
        direct: chJson(analyticsSql(query, tenant.id)),
        before: chJson(beforeSql(analyticsSql(query, tenant.id, { rollups: false }))),
      });
    };
    for (let q = 0; q < QUERIES_PER_TENANT; q++) {
      const kind = q % 6;
      const from = lo + r(Math.max(1, Math.floor((hi - lo) / WEEK_MS) - 13)) * WEEK_MS;
      if (kind === 0 || kind === 1) {
        // flights: one to two dimensions, a filter or a quarter's range
        const dims = pick([['origin'], ['destination'], ['origin', 'destination'], []]);
        analytics('flights', {
          metrics: pick(['flights,mean_delay', 'flights,p90_delay', 'max_delay,total_distance', 'flights']),
          bucket: pick(['day', 'week', 'month'] as const),
          dimensions: dims.join(',') || undefined,
          filter: kind === 0 || dims.length === 2 ? `origin:${pick(airports)}` : undefined,
          from: kind === 1 ? day(from) : undefined,
          to: kind === 1 ? day(from + 13 * WEEK_MS) : undefined,
        });
      } else if (kind === 2) {
        const dims = pick([['kind'], ['category'], ['kind', 'category'], ['kind', 'category', 'altman_zone']]);
        analytics('finance_scores', {
          metrics: pick(['statements,mean_probability', 'statements,p90_probability', 'mean_altman_z']),
          bucket: pick(['week', 'month'] as const),
          dimensions: dims.join(','),
          filter: r(2) === 0 ? `company_id:co-${r(41)}` : undefined,
        });
      } else if (kind === 3) {
        analytics('catalog_rows', {
          metrics: pick(['rows', 'rows,mean_confidence', 'min_confidence']),
          bucket: pick(['day', 'week', 'month'] as const),
          dimensions: pick([['genre'], ['decided_by'], ['genre', 'decided_by'], ['upload_id', 'genre']]).join(','),
          filter: r(2) === 0 ? `genre:${pick(genres)}` : undefined,
        });
      } else if (kind === 4) {
        const symbol = pick(SYMBOLS);
        const interval = pick(['day', 'week']);
        const [a, b] = ['2001-01-01', '2010-03-01'];
        const where = `tenant_id = '${tenant.id}' AND symbol = '${symbol}'`;
        const between = (col: string) => `${col} BETWEEN toDate('${a}') AND toDate('${b}')`;
        const bars = (from: string, filter: string) =>
          interval === 'day'
            ? `SELECT toString(day) AS date, open, high, low, close, volume, bars FROM ${from} WHERE ${filter} ORDER BY day`
            : `SELECT toString(toMonday(day)) AS date, argMin(open, day) AS open, max(high) AS high, min(low) AS low, argMax(close, day) AS close, sum(volume) AS volume, sum(bars) AS bars FROM ${from} WHERE ${filter} GROUP BY toMonday(day) ORDER BY toMonday(day)`;
        const daily = `(SELECT toDate(ts) AS day, argMin(ifNull(o, c), ts) AS open, max(ifNull(h, c)) AS high, min(ifNull(l, c)) AS low, argMax(c, ts) AS close, sum(ifNull(v, 0)) AS volume, count() AS bars
            FROM (SELECT ts, open AS o, high AS h, low AS l, close AS c, volume AS v FROM market_quotes FINAL WHERE ${where} AND ${between('toDate(ts)')}) GROUP BY day)`;
        const watched = () =>
          db.query('SELECT 1 FROM market_symbols WHERE tenant_id = $1 AND symbol = $2', [tenant.id, symbol]);
        out.push({
          tenant,
          label: 'market quotes',
          path: `/v1/stocks/${symbol}/quotes?interval=${interval}&from=${a}&to=${b}`,
          direct: async () => (await watched(), chJson(bars(daily, '1'))()),
          before: async () => (
            await watched(),
            chJson(bars('market_quotes_daily', `${where} AND ${between('day')}`))()
          ),
        });
      } else {
        const latest = `SELECT c.*, l.* FROM c CROSS JOIN LATERAL (SELECT id, period_end, kind, probability, category, scored_at FROM finance_scores s
            WHERE s.tenant_id = $1 AND s.company_id = c.company_id ORDER BY period_end DESC, kind, id LIMIT 1) l ORDER BY c.company_id`;
        // as the API reads it: the counts kept by finance_companies (Postgres 0031)
        const sql = `WITH c AS (SELECT company_id, statements, first_period_end::text AS first_period_end, last_period_end::text AS last_period_end
            FROM finance_companies WHERE tenant_id = $1 AND ($2::text IS NULL OR company_id > $2) ORDER BY company_id LIMIT $3) ${latest}`;
        // before 0031: counted from every statement of the tenant
        const sqlBefore = `WITH c AS (SELECT company_id, count(*)::int AS statements, min(period_end)::text AS first_period_end, max(period_end)::text AS last_period_end
            FROM finance_scores WHERE tenant_id = $1 AND ($2::text IS NULL OR company_id > $2) GROUP BY company_id ORDER BY company_id LIMIT $3) ${latest}`;
        out.push({
          tenant,
          label: 'companies',
          path: '/v1/companies?limit=50',
          direct: () => db.query(sql, [tenant.id, null, 51]),
          before: () => db.query(sqlBefore, [tenant.id, null, 51]),
        });
      }
    }
  }
  // shuffled, so neighbouring loops ask different tenants different things
  let seed = 99;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 16807) % 2147483647;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Figures {
  /** API answers by x-cache */
  sources?: Record<string, number>;
  requests: number;
  failed: number;
  perSecond: number;
  p50: number;
  p99: number;
  byLabel: Record<string, { n: number; p50: number; p99: number }>;
}

/** CONNECTIONS closed loops for SECONDS, loop i starting at request i * (list / CONNECTIONS). */
async function measure(list: Request[], ask: (r: Request) => Promise<void>): Promise<Figures> {
  const latencies: { label: string; ms: number }[] = [];
  let failed = 0;
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, loop) => {
      for (let i = Math.floor((loop * list.length) / CONNECTIONS); performance.now() < end; i++) {
        const request = list[i % list.length]!;
        const at = performance.now();
        try {
          await ask(request);
          latencies.push({ label: request.label, ms: performance.now() - at });
        } catch (error) {
          if (failed++ < 5) say(`${request.path}: ${(error as Error).message}`);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const summary = (ms: number[]) => {
    const sorted = ms.sort((a, b) => a - b);
    return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  const all = summary(latencies.map((l) => l.ms));
  const labels = [...new Set(latencies.map((l) => l.label))].sort();
  return {
    requests: all.n,
    failed,
    perSecond: all.n / seconds,
    p50: all.p50,
    p99: all.p99,
    byLabel: Object.fromEntries(
      labels.map((label) => [label, summary(latencies.filter((l) => l.label === label).map((l) => l.ms))]),
    ),
  };
}

async function startApi(cacheTtlMs: number, cacheStaleMs: number): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(root, 'bin', 'millrace.js'), 'api'], {
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      API_PORT: String(port),
      ANALYTICS_CACHE_TTL_MS: String(cacheTtlMs),
      ANALYTICS_CACHE_STALE_MS: String(cacheStaleMs),
      // this measures the query path, not the per-key rate limit
      RATE_LIMIT_PER_KEY: '100000000',
      RATE_LIMIT_PER_IP: '100000000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    'the API answering',
    async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined),
    60_000,
  );
  return { url, proc };
}

/** Asks the API, counting answers by their x-cache header into `sources`, and their bytes into `sources.bytes`. */
const viaApi = (url: string, sources: Record<string, number>) => async (r: Request) => {
  const response = await fetch(`${url}${r.path}`, { headers: { authorization: `Bearer ${r.tenant.key}` } });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${response.status} ${body.slice(0, 200)}`);
  const source = response.headers.get('x-cache') ?? 'none (Postgres)';
  sources[source] = (sources[source] ?? 0) + 1;
  sources.bytes = (sources.bytes ?? 0) + body.length;
};

/** The three fact tables as they were before issue 18, holding the same rows. */
async function beforeLayout(): Promise<void> {
  await clickhouse.command({ query: `CREATE DATABASE IF NOT EXISTS ${BEFORE_DB}` });
  for (const table of ['samples_flights', 'finance_scores', 'catalog_rows']) {
    const source = await chCount(`SELECT count() AS n FROM ${table}`);
    const copied = await chCount(`SELECT count() AS n FROM ${BEFORE_DB}.${table}`).catch(() => -1);
    if (copied === source) continue;
    await clickhouse.command({ query: `DROP TABLE IF EXISTS ${BEFORE_DB}.${table}` });
    await clickhouse.command({
      query: `CREATE TABLE ${BEFORE_DB}.${table} AS ${table} ENGINE = ReplacingMergeTree(_offset) ORDER BY id`,
    });
    await clickhouse.command({
      query: `INSERT INTO ${BEFORE_DB}.${table} SELECT * FROM ${table}`,
      clickhouse_settings: { max_execution_time: 3600 },
    });
    say(`${table}: ${source} rows copied to ${BEFORE_DB} in the layout before issue 18`);
  }
}

async function main(): Promise<void> {
  const ts = await tenants();
  if (!opts['skip-load']) await load(ts);
  results.rows = {
    flights: await chCount('SELECT count() AS n FROM samples_flights'),
    finance_scores: await chCount('SELECT count() AS n FROM finance_scores'),
    catalog_rows: await chCount('SELECT count() AS n FROM catalog_rows'),
    market_quotes: await chCount('SELECT count() AS n FROM market_quotes'),
  };
  say(`rows: ${JSON.stringify(results.rows)}`);
  await beforeLayout();
  const list = await requests(ts);
  say(`${list.length} requests over ${ts.length} tenants, ${CONNECTIONS} connections, ${SECONDS} s a path`);

  /**
   * The mix through a `millrace api` with the answer cache at `cacheTtlMs` and `cacheStaleMs`, one
   * measurement per name in a row on the same process (the first from a cold cache), stopped afterwards.
   */
  const paths: Record<string, Figures> = {};
  const throughApi = async (cacheTtlMs: number, cacheStaleMs: number, ...names: string[]) => {
    const api = opts['api-url'] ? { url: opts['api-url'] } : await startApi(cacheTtlMs, cacheStaleMs);
    try {
      for (const name of names) {
        const sources: Record<string, number> = {};
        paths[name] = { ...(await measure(list, viaApi(api.url, sources))), sources };
      }
    } finally {
      if ('proc' in api) await stop(api.proc);
    }
  };
  const chosen = new Set(opts.paths.split(','));
  if (chosen.has('off')) await throughApi(0, 0, 'API, cache off');
  if (chosen.has('direct'))
    paths['direct (same queries)'] = await measure(list, (r) => r.direct().then(() => undefined));
  if (chosen.has('on')) await throughApi(5_000, 0, 'API, cache on (5 s)');
  if (chosen.has('stale'))
    await throughApi(5_000, 30_000, 'API, 5 s + 30 s stale, cold', 'API, 5 s + 30 s stale, next');
  if (chosen.has('before'))
    paths['before issue 18, direct'] = await measure(list, (r) => r.before().then(() => undefined));
  results.paths = paths;
  const off = paths['API, cache off'];
  const direct = paths['direct (same queries)'];
  if (off && direct) results.ratioP99 = off.p99 / direct.p99;
  save();

  const f = (n: number) => n.toFixed(1).padStart(9);
  process.stdout.write(
    `\n${'path'.padEnd(28)}${'requests'.padStart(9)}${'failed'.padStart(8)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}\n`,
  );
  for (const [name, p] of Object.entries(paths)) {
    process.stdout.write(
      `${name.padEnd(28)}${String(p.requests).padStart(9)}${String(p.failed).padStart(8)}${f(p.perSecond)}${f(p.p50)}${f(p.p99)}\n`,
    );
    if (p.sources) process.stdout.write(`  x-cache ${JSON.stringify(p.sources)}\n`);
    for (const [label, l] of Object.entries(p.byLabel))
      process.stdout.write(`  ${label.padEnd(26)}${String(l.n).padStart(9)}${''.padStart(17)}${f(l.p50)}${f(l.p99)}\n`);
  }
  if (typeof results.ratioP99 === 'number')
    process.stdout.write(`\nAPI cache off / direct, p99: ${results.ratioP99.toFixed(2)}\n`);
  process.stdout.write(`${resultsFile}\n`);
}

try {
  await main();
} finally {
  await clickhouse.close();
  await db.end();
}
