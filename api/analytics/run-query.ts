/** Runs analytics queries on ClickHouse for a tenant, through the API's query gate (shared, cached, fair). */
import type { QueryGate } from '../query-gate.ts';
import type { Source } from '../shared-answers.ts';
import { analyticsSql, namedRows, type AnalyticsQuery, type AnalyticsRow } from './query.ts';

export interface AnalyticsResult {
  rows: AnalyticsRow[];
  truncated: boolean;
}

export class Analytics {
  constructor(private readonly gate: QueryGate) {}

  /** The answer and where it came from; the gate's key is the tenant and the SQL of the normalised query. */
  async run(tenantId: string, query: AnalyticsQuery): Promise<AnalyticsResult & { source: Source; ageMs?: number }> {
    const { answer, source, ageMs } = await this.gate.clickhouse(
      tenantId,
      query.view,
      analyticsSql(query, tenantId),
      (raw): AnalyticsResult => {
        const rows = namedRows(query, raw);
        return { rows: rows.slice(0, query.limit), truncated: rows.length > query.limit };
      },
    );
    return { ...answer, source, ageMs };
  }
}
