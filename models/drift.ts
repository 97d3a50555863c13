/**
 * Drift of a model version's scores over time: per bucket of the scored records' event time, how
 * many were scored, the mean probability, the predicted and actual positive rates, and the
 * population stability index (PSI) of the probabilities against the first bucket (ten equal bins
 * on [0, 1]). PSI below 0.1 is read as stable, 0.1 to 0.25 as a shift, above 0.25 as drift.
 * FINAL: a redelivered score counts once.
 */
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { sqlValue } from '../core/clickhouse-sql.ts';

export const DRIFT_BUCKETS = ['day', 'week', 'month'] as const;
export type DriftBucket = (typeof DRIFT_BUCKETS)[number];
const BINS = 10;
/** The share given to an empty bin, so the logarithm stays finite. */
const EMPTY_SHARE = 1e-4;

export interface DriftPoint {
  /** the bucket's start, ISO */
  start: string;
  rows: number;
  mean_probability: number;
  positive_rate: number;
  actual_rate: number;
  /** against the first bucket (0 for the first) */
  psi: number;
}

/** Each bucket's start in UTC, as epoch seconds. */
const START: Record<DriftBucket, string> = {
  day: "toUnixTimestamp(toStartOfDay(event_time, 'UTC'))",
  week: "toUnixTimestamp(toDateTime(toMonday(event_time, 'UTC'), 'UTC'))",
  month: "toUnixTimestamp(toDateTime(toStartOfMonth(event_time, 'UTC'), 'UTC'))",
};

/** PSI of `actual` against `expected`, both counts per bin (the same bins, in the same order). */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  const total = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) || 1;
  const [e, a] = [total(expected), total(actual)];
  let sum = 0;
  for (let i = 0; i < Math.max(expected.length, actual.length); i += 1) {
    const p = Math.max((expected[i] ?? 0) / e, EMPTY_SHARE);
    const q = Math.max((actual[i] ?? 0) / a, EMPTY_SHARE);
    sum += (q - p) * Math.log(q / p);
  }
  return sum;
}

/**
 * The version's drift, oldest bucket first (none when it scored nothing).
 *
 * @example
 * ```ts
 * const points = await scoreDrift(clickhouse, 'acme', 'acme.delays', '20261206T1200-ab12cd34', 'week');
 * ```
 */
export async function scoreDrift(
  clickhouse: ClickHouseClient,
  tenantId: string,
  modelId: string,
  version: string,
  bucket: DriftBucket,
): Promise<DriftPoint[]> {
  const result = await clickhouse.query({
    query: `SELECT ${START[bucket]} AS start, count() AS rows, avg(probability) AS mean_probability,
              avg(label) AS positive_rate, avg(actual) AS actual_rate,
              sumMap([least(toUInt8(floor(probability * ${BINS})), ${BINS - 1})], [toUInt64(1)]) AS bins
            FROM model_scores FINAL
            WHERE tenant_id = ${sqlValue(tenantId)} AND model_id = ${sqlValue(modelId)} AND model_version = ${sqlValue(version)}
            GROUP BY start ORDER BY start`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{
    start: number;
    rows: string;
    mean_probability: number;
    positive_rate: number;
    actual_rate: number;
    bins: [number[], string[]];
  }>();
  const counts = rows.map((r) => {
    const perBin = new Array<number>(BINS).fill(0);
    r.bins[0].forEach((bin, i) => (perBin[bin] = Number(r.bins[1][i])));
    return perBin;
  });
  return rows.map((r, i) => ({
    start: new Date(Number(r.start) * 1000).toISOString(),
    rows: Number(r.rows),
    mean_probability: r.mean_probability,
    positive_rate: r.positive_rate,
    actual_rate: r.actual_rate,
    psi: psi(counts[0]!, counts[i]!),
  }));
}
