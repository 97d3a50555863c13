/**
 * The dashboard views: what a client may ask of ClickHouse. Tables, columns and aggregate
 * expressions live here and nowhere else; a request only names entries of these whitelists.
 *
 * Each view reads its sink table as sql/clickhouse/README.md decides per table (FINAL where a record
 * produced twice must count once before a merge folds it, not for flights: each offset is one flight)
 * and filters by tenant, the sorting key's first column, before aggregating: ClickHouse 18.16 does
 * not push a WHERE into a view (enable_optimize_predicate_expression is off), so querying the rollup
 * views per tenant would aggregate every tenant first.
 */

export const BUCKETS = ['hour', 'day', 'week', 'month'] as const;
export type Bucket = (typeof BUCKETS)[number];

export interface Metric {
  sql: string;
  description: string;
}

export interface ViewSpec {
  description: string;
  /** The FROM clause: a sink table, with FINAL where its reads need it (sql/clickhouse/README.md). */
  from: string;
  /** The column time buckets and from/to apply to; a Date column has no hour buckets. */
  time: { column: string; type: 'Date' | 'DateTime' };
  /** String columns a client may group and filter by. */
  dimensions: readonly string[];
  metrics: Readonly<Record<string, Metric>>;
  defaultMetrics: readonly string[];
  /** Pre-aggregates that answer some questions of the view with the same figures, coarsest first (query.ts picks). */
  rollups?: readonly Rollup[];
}

/**
 * An AggregatingMergeTree fed by a materialized view as the sink writes: exact only for a table read
 * without FINAL (an insert-time rollup would count a re-published record twice where FINAL counts it
 * once, so finance_scores and catalog_rows have none).
 */
export interface Rollup {
  table: string;
  /** A DateTime column holding the start of the row's hour or UTC day: a question fits when its from/to fall on one. */
  time: { column: string; grain: 'hour' | 'day' };
  dimensions: readonly string[];
  /** The view's metrics the rollup answers, as -Merge expressions giving the raw expression's value. */
  metrics: Readonly<Record<string, string>>;
}

/** The flights metrics from the aggregate states of its rollups (the mean as the raw avg() divides). */
const FLIGHT_STATES = {
  flights: 'countMerge(flights)',
  mean_delay: 'sumMerge(delay_sum) / countMerge(flights)',
  max_delay: 'maxMerge(delay_max)',
  p90_delay: 'quantileExactMerge(0.9)(delay_p90)',
  total_distance: 'sumMerge(distance_sum)',
} as const;

export const VIEWS = {
  finance_scores: {
    description: 'default-probability scores of financial statements (finance_scores), bucketed by period end',
    from: 'finance_scores FINAL',
    time: { column: 'period_end', type: 'Date' },
    dimensions: ['kind', 'category', 'altman_zone', 'company_id', 'model_version'],
    metrics: {
      statements: { sql: 'count()', description: 'scored statements' },
      mean_probability: { sql: 'avg(probability)', description: 'mean ensemble probability of default' },
      max_probability: { sql: 'max(probability)', description: 'highest ensemble probability' },
      p50_probability: { sql: 'quantileExact(0.5)(probability)', description: 'median ensemble probability' },
      p90_probability: {
        sql: 'quantileExact(0.9)(probability)',
        description: '90th percentile of the ensemble probability',
      },
      mean_altman_z: { sql: 'avg(altman_z)', description: 'mean Altman Z-score' },
    },
    defaultMetrics: ['statements'],
  },
  catalog_rows: {
    description: 'classified product rows (catalog_rows), bucketed by event time',
    from: 'catalog_rows FINAL',
    time: { column: 'event_time', type: 'DateTime' },
    dimensions: ['genre', 'taxonomy', 'decided_by', 'upload_id', 'model_version'],
    metrics: {
      rows: { sql: 'count()', description: 'classified rows' },
      mean_confidence: { sql: 'avg(confidence)', description: 'mean classification confidence' },
      min_confidence: { sql: 'min(confidence)', description: 'lowest classification confidence' },
    },
    defaultMetrics: ['rows'],
  },
  flights: {
    description: 'the sample pipeline flights (samples_flights), bucketed by departure time',
    from: 'samples_flights',
    time: { column: 'event_time', type: 'DateTime' },
    dimensions: ['origin', 'destination'],
    metrics: {
      flights: { sql: 'count()', description: 'flights' },
      mean_delay: { sql: 'avg(delay)', description: 'mean delay, minutes' },
      max_delay: { sql: 'max(delay)', description: 'longest delay, minutes' },
      p90_delay: { sql: 'quantileExact(0.9)(delay)', description: '90th percentile of the delay, minutes' },
      total_distance: { sql: 'sum(distance)', description: 'miles flown' },
    },
    defaultMetrics: ['flights'],
    // sql/clickhouse/0010_flights_rollup.sql
    rollups: [
      { table: 'samples_flights_daily', time: { column: 'day', grain: 'day' }, dimensions: [], metrics: FLIGHT_STATES },
      {
        table: 'samples_flights_daily_origin',
        time: { column: 'day', grain: 'day' },
        dimensions: ['origin'],
        metrics: FLIGHT_STATES,
      },
      {
        table: 'samples_flights_hourly',
        time: { column: 'hour', grain: 'hour' },
        dimensions: [],
        metrics: FLIGHT_STATES,
      },
    ],
  },
} as const satisfies Record<string, ViewSpec>;

export type ViewName = keyof typeof VIEWS;
export const VIEW_NAMES = Object.keys(VIEWS) as [ViewName, ...ViewName[]];

export function bucketsOf(view: ViewSpec): Bucket[] {
  return BUCKETS.filter((b) => b !== 'hour' || view.time.type === 'DateTime');
}
