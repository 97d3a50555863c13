/**
 * The one path the API's dashboard reads take to ClickHouse and Postgres (analytics views, market
 * bars and indicators, the companies and predictions lists):
 *
 * - identical concurrent queries of one tenant share one round trip (keyed by tenant, SQL and
 *   parameters; never across tenants);
 * - ClickHouse answers are kept per tenant for `cacheTtlMs`, then served stale for `cacheStaleMs`
 *   more while one refresh runs behind them; Postgres answers are only shared while in flight,
 *   since a client's own writes there (a prediction, a watched symbol) must show at once;
 * - refreshes nobody waits for run `refreshConcurrency` at a time for all tenants, outside the
 *   tenants' slots: without that bound they would keep ClickHouse busy refreshing every answer
 *   every TTL while the requests that wait for an answer queue behind them;
 * - each tenant has `inFlightPerTenant` queries running and `queuedPerTenant` waiting at most (a
 *   p-queue per tenant and store): a tenant over its share gets a 429 with Retry-After and cannot take the
 *   connections another tenant's queries need;
 * - a ClickHouse query past its time limit is a 503 with Retry-After.
 *
 * A shared Postgres answer may come from a query that started up to one query's duration before
 * the request: the price of coalescing, within one tenant.
 */
import { ClickHouseError } from '@clickhouse/client';
import PQueue from 'p-queue';
import type { QueryResultRow } from 'pg';
import { Counter, Histogram } from 'prom-client';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { metricsRegistry } from '../core/metrics.ts';
import type { Pool } from '../core/postgres.ts';
import { ApiError } from './errors.ts';
import { SharedAnswers, type Source } from './shared-answers.ts';

export interface QueryGateSettings {
  /** refreshes of stale answers running at once, all tenants together (ANALYTICS_CACHE_REFRESHES; default 2) */
  refreshConcurrency?: number;
  /** how long a ClickHouse answer is reused for the same tenant and SQL (ANALYTICS_CACHE_TTL_MS); 0: only while in flight */
  cacheTtlMs: number;
  /** how long past the TTL an answer is still served while a refresh runs (ANALYTICS_CACHE_STALE_MS; default 0) */
  cacheStaleMs?: number;
  /** the most bytes of answers (as JSON) the cache holds (ANALYTICS_CACHE_MB; default 64 MB) */
  cacheBytes?: number;
  /** a tenant's queries running at once (QUERY_IN_FLIGHT_PER_TENANT) */
  inFlightPerTenant: number;
  /** a tenant's queries waiting for one of its slots; one more is a 429 (QUERY_QUEUE_PER_TENANT) */
  queuedPerTenant: number;
  /** ClickHouse's max_execution_time in whole seconds (18.16 reads a fraction as 0, no limit) */
  timeLimitS: number;
}

/** TIMEOUT_EXCEEDED, and TOO_SLOW: ClickHouse's estimate that the query would exceed the limit. */
const TIMEOUT_CODES = new Set(['159', '160']);
/** Seconds a refused tenant should wait: its queries are dashboard reads, done in well under that. */
const BUSY_RETRY_S = 1;

/** The server's error code: parsed by the client for current servers; 18.16 answers `Code: 159, e.displayText() = ...`. */
const clickHouseCode = (error: unknown): string | undefined =>
  error instanceof ClickHouseError
    ? error.code
    : error instanceof Error
      ? /^Code: (\d+),/.exec(error.message)?.[1]
      : undefined;

const clickhouseSeconds = new Histogram({
  name: 'millrace_clickhouse_query_duration_seconds',
  help: 'Time of each ClickHouse query the API ran (shared and cached answers not counted), by analytics view or market table',
  labelNames: ['view'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});
const waitSeconds = new Histogram({
  name: 'millrace_query_gate_wait_seconds',
  help: "Time a query waited for one of its tenant's slots",
  labelNames: ['store'],
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  registers: [metricsRegistry],
});
const outcomes = new Counter({
  name: 'millrace_query_gate_total',
  help: 'Read queries by outcome: queried, shared (joined one in flight), cached, stale (served while a refresh runs), refreshed (a refresh started), or rejected (tenant over its share)',
  labelNames: ['store', 'outcome'],
  registers: [metricsRegistry],
});

type Store = 'clickhouse' | 'postgres';

/**
 * The headers telling a client where a ClickHouse answer came from: `x-cache` (`miss` ran the
 * query, `shared` joined an identical one in flight, `hit` the per-tenant cache, `stale` the cache
 * past its TTL while a refresh runs) and, for the last two, `age` in whole seconds as HTTP caches say it.
 */
export function cacheHeaders(source: Source, ageMs?: number): Record<string, string> {
  const headers: Record<string, string> = {
    'x-cache': { queried: 'miss', shared: 'shared', cached: 'hit', stale: 'stale' }[source],
  };
  if (ageMs !== undefined) headers.age = String(Math.floor(ageMs / 1000));
  return headers;
}

export class QueryGate {
  private readonly answers: Record<Store, SharedAnswers<unknown>>;
  private readonly queues = new Map<string, PQueue>();
  private readonly refreshes: PQueue;

  constructor(
    private readonly clients: { clickhouse: ClickHouseClient; db: Pool },
    private readonly settings: QueryGateSettings,
  ) {
    this.answers = {
      clickhouse: new SharedAnswers({
        ttlMs: settings.cacheTtlMs,
        staleMs: settings.cacheStaleMs,
        maxEntries: 100_000,
        maxWeight: settings.cacheBytes ?? 64 * 1024 * 1024,
        weigh: (answer) => JSON.stringify(answer).length,
      }),
      postgres: new SharedAnswers({ ttlMs: 0 }),
    };
    this.refreshes = new PQueue({ concurrency: settings.refreshConcurrency ?? 2 });
  }

  /**
   * A ClickHouse SELECT for `tenantId`, its JSON rows made into the answer by `shape` (once per
   * query: shared and cached answers are shaped already); `view` labels its time in
   * millrace_clickhouse_query_duration_seconds.
   */
  async clickhouse<R>(
    tenantId: string,
    view: string,
    sql: string,
    shape: (rows: Record<string, unknown>[]) => R,
  ): Promise<{ answer: R; source: Source; ageMs?: number }> {
    const query = (refresh: boolean) => async () => {
      const stop = clickhouseSeconds.startTimer({ view });
      try {
        const result = await this.clients.clickhouse.query({
          query: sql,
          format: 'JSONEachRow',
          clickhouse_settings: {
            max_execution_time: this.settings.timeLimitS,
            // ClickHouse's own record of each API query (18.16 logs none by default; 24.x does)
            log_queries: 1,
            // nobody waits for a refresh: one thread each leaves the other cores to queries someone does
            ...(refresh ? { max_threads: 1 } : {}),
          },
        });
        return shape(await result.json<Record<string, unknown>>());
      } catch (error) {
        throw this.timeoutOr(error);
      } finally {
        stop();
      }
    };
    const { value, source, ageMs } = this.answers.clickhouse.get(JSON.stringify([tenantId, sql]), (refresh) => {
      if (!refresh) return this.inTurn(tenantId, 'clickhouse', query(false));
      outcomes.inc({ store: 'clickhouse', outcome: 'refreshed' });
      return this.refreshes.add(query(true));
    });
    if (source !== 'queried') outcomes.inc({ store: 'clickhouse', outcome: source });
    return { answer: (await value) as R, source, ageMs };
  }

  /** The rows of a Postgres query for `tenantId`, shared with an identical one in flight. */
  async postgres<T extends QueryResultRow>(tenantId: string, sql: string, params: unknown[]): Promise<T[]> {
    const { value, source } = this.answers.postgres.get(JSON.stringify([tenantId, sql, params]), () =>
      this.inTurn(tenantId, 'postgres', async () => (await this.clients.db.query<T>(sql, params)).rows),
    );
    if (source !== 'queried') outcomes.inc({ store: 'postgres', outcome: source });
    return (await value) as T[];
  }

  /**
   * Runs `query` in one of the tenant's slots of `store`, or refuses it with a 429 when that queue is
   * full. Each store has its own: a tenant's slow ClickHouse queries do not hold up its Postgres reads
   * (a watch-list check, a companies page), which take milliseconds.
   */
  private inTurn<T>(tenantId: string, store: Store, query: () => Promise<T>): Promise<T> {
    const { inFlightPerTenant, queuedPerTenant } = this.settings;
    const key = `${store} ${tenantId}`;
    let queue = this.queues.get(key);
    if (!queue) {
      const created = new PQueue({ concurrency: inFlightPerTenant });
      // an idle tenant holds no queue
      created.on('idle', () => {
        if (this.queues.get(key) === created) this.queues.delete(key);
      });
      this.queues.set(key, (queue = created));
    }
    if (queue.size >= queuedPerTenant) {
      outcomes.inc({ store, outcome: 'rejected' });
      return Promise.reject(
        new ApiError(
          429,
          'too_many_queries',
          `your tenant has ${queue.pending} queries running and ${queue.size} waiting, its share; retry in ${BUSY_RETRY_S} s`,
          undefined,
          { 'retry-after': String(BUSY_RETRY_S) },
        ),
      );
    }
    outcomes.inc({ store, outcome: 'queried' });
    const stopWaiting = waitSeconds.startTimer({ store });
    return queue.add(() => {
      stopWaiting();
      return query();
    });
  }

  private timeoutOr(error: unknown): unknown {
    if (!TIMEOUT_CODES.has(clickHouseCode(error) ?? '')) return error;
    return new ApiError(
      503,
      'query_timeout',
      `the query would run longer than ${this.settings.timeLimitS} s; narrow it (a filter, a coarser bucket) or retry later`,
      undefined,
      { 'retry-after': '10' },
    );
  }
}
