/** Runs analytics queries on ClickHouse for a tenant, through a short-lived cache. */
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { TtlCache } from './cache.ts';
import { analyticsSql, namedRows, type AnalyticsQuery, type AnalyticsRow } from './query.ts';

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
      const result = await this.clickhouse.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { max_execution_time: 10 } });
      const rows = namedRows(query, await result.json<Record<string, unknown>>());
      return { rows: rows.slice(0, query.limit), truncated: rows.length > query.limit };
    });
    return { ...(await value), cached: hit };
  }
}
