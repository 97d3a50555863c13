/** Runs analytics queries on ClickHouse for a tenant, through a short-lived cache. */
import { ClickHouseError } from '@clickhouse/client';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { ApiError } from '../errors.ts';
import { TtlCache } from './cache.ts';
import { analyticsSql, namedRows, type AnalyticsQuery, type AnalyticsRow } from './query.ts';

const MAX_SECONDS = 10;
/** TIMEOUT_EXCEEDED, and TOO_SLOW: ClickHouse's estimate that the query would exceed the limit. */
const TIMEOUT_CODES = new Set(['159', '160']);

/** The server's error code: parsed by the client for current servers; 18.16 answers `Code: 159, e.displayText() = ...`. */
const clickHouseCode = (error: unknown): string | undefined =>
  error instanceof ClickHouseError
    ? error.code
    : error instanceof Error
      ? /^Code: (\d+),/.exec(error.message)?.[1]
      : undefined;

export interface AnalyticsResult {
  rows: AnalyticsRow[];
  truncated: boolean;
}

export class Analytics {
  private readonly cache: TtlCache<AnalyticsResult>;

  constructor(
    private readonly clickhouse: ClickHouseClient,
    cacheTtlMs: number,
  ) {
    // bounded memory: at most 200 answers of at most 10,000 rows each
    this.cache = new TtlCache(cacheTtlMs, 200);
  }

  /** The answer and whether it came from the cache; the key is the tenant and the SQL of the normalised query. */
  async run(tenantId: string, query: AnalyticsQuery): Promise<AnalyticsResult & { cached: boolean }> {
    const sql = analyticsSql(query, tenantId);
    const { value, hit } = this.cache.get(`${tenantId}\n${sql}`, async () => {
      const result = await this.clickhouse
        .query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { max_execution_time: MAX_SECONDS } })
        .catch((error: unknown) => {
          if (TIMEOUT_CODES.has(clickHouseCode(error) ?? '')) {
            throw new ApiError(
              503,
              'query_timeout',
              `the query would run longer than ${MAX_SECONDS} s; narrow it (a filter, a coarser bucket) or retry later`,
              undefined,
              { 'retry-after': '10' },
            );
          }
          throw error;
        });
      const rows = namedRows(query, await result.json<Record<string, unknown>>());
      return { rows: rows.slice(0, query.limit), truncated: rows.length > query.limit };
    });
    return { ...(await value), cached: hit };
  }
}
