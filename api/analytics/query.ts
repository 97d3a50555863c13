/**
 * An analytics request, normalised and checked against its view's whitelists, and the one SELECT
 * it becomes. Identifiers come only from api/analytics/views.ts (through sqlIdentifier), every
 * value goes through core/clickhouse-sql.ts, and the tenant condition is always there. Aliases are
 * positional (t_bucket, d0.., m0..) so no client text ever becomes one, and none shadows a column.
 */
import { quoteString, sqlIdentifier, sqlValue } from '../../core/clickhouse-sql.ts';
import { ApiError } from '../errors.ts';
import { bucketsOf, VIEWS, type Bucket, type Rollup, type ViewName, type ViewSpec } from './views.ts';

export const MAX_DIMENSIONS = 3;
export const MAX_FILTER_VALUES = 100;

/** The query string as validated by the route's zod schema. */
export interface AnalyticsParams {
  dimensions?: string;
  metrics?: string;
  bucket?: Bucket;
  from?: string;
  to?: string;
  filter?: string | string[];
  limit: number;
}

export interface AnalyticsQuery {
  view: ViewName;
  dimensions: string[];
  metrics: string[];
  bucket?: Bucket;
  /** Epoch ms; from inclusive, to exclusive. */
  from?: number;
  to?: number;
  /** By dimension name, sorted; values sorted and distinct. Values of one dimension are OR'd, dimensions AND'd. */
  filters: [string, string[]][];
  limit: number;
}

export type AnalyticsRow = Record<string, string | number | null>;

const bad = (field: string, message: string) => new ApiError(400, 'invalid_request', `${field}: ${message}`, field);

function names(list: string | undefined, field: string, allowed: readonly string[], what: string): string[] {
  if (list === undefined || list.trim() === '') return [];
  const requested = [...new Set(list.split(',').map((s) => s.trim()))];
  for (const name of requested) {
    if (!allowed.includes(name)) throw bad(field, `unknown ${what} "${name}"; one of ${allowed.join(', ')}`);
  }
  return requested;
}

/** Checks a request against the view's whitelists; a 400 names the field at fault. */
export function normaliseQuery(view: ViewName, params: AnalyticsParams): AnalyticsQuery {
  const spec: ViewSpec = VIEWS[view];
  const dimensions = names(params.dimensions, 'dimensions', spec.dimensions, 'dimension');
  if (dimensions.length > MAX_DIMENSIONS) throw bad('dimensions', `at most ${MAX_DIMENSIONS}`);
  const metrics = names(params.metrics, 'metrics', Object.keys(spec.metrics), 'metric');
  if (params.bucket && !bucketsOf(spec).includes(params.bucket))
    throw bad('bucket', `${view} has buckets ${bucketsOf(spec).join(', ')}`);

  const filters = new Map<string, Set<string>>();
  const raw = params.filter === undefined ? [] : Array.isArray(params.filter) ? params.filter : [params.filter];
  if (raw.length > MAX_FILTER_VALUES) throw bad('filter', `at most ${MAX_FILTER_VALUES} filters`);
  for (const entry of raw) {
    const colon = entry.indexOf(':');
    const dimension = colon < 0 ? entry : entry.slice(0, colon);
    if (colon < 0 || !spec.dimensions.includes(dimension)) {
      throw bad(
        'filter',
        `"${dimension}" is not a dimension:value filter of ${view}; dimensions are ${spec.dimensions.join(', ')}`,
      );
    }
    const values = filters.get(dimension) ?? new Set<string>();
    values.add(entry.slice(colon + 1));
    filters.set(dimension, values);
  }

  const from = params.from === undefined ? undefined : Date.parse(params.from);
  const to = params.to === undefined ? undefined : Date.parse(params.to);
  if (from !== undefined && to !== undefined && from >= to) throw bad('to', 'must be after from');
  return {
    view,
    dimensions,
    metrics: metrics.length > 0 ? metrics : [...spec.defaultMetrics],
    ...(params.bucket ? { bucket: params.bucket } : {}),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    filters: [...filters.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([d, v]) => [d, [...v].sort()]),
    limit: params.limit,
  };
}

/** Where a query reads: the view's table, or its rollup when the question fits it. */
interface Source {
  from: string;
  time: { column: string; type: 'Date' | 'DateTime' };
  dimensions: readonly string[];
  metric: (name: string) => string;
}

const GRAIN_MS = { hour: 3_600_000, day: 86_400_000 } as const;

/**
 * Whether every part of the question is answerable from the rollup: its dimensions and metrics, a
 * bucket no finer than its rows (each bucket is then a union of them), from/to on its grain.
 */
function fits(query: AnalyticsQuery, rollup: Rollup): boolean {
  const grain = GRAIN_MS[rollup.time.grain];
  const aligned = (ms: number | undefined) => ms === undefined || ms % grain === 0;
  return (
    aligned(query.from) &&
    aligned(query.to) &&
    !(query.bucket === 'hour' && rollup.time.grain === 'day') &&
    query.dimensions.every((d) => rollup.dimensions.includes(d)) &&
    query.filters.every(([d]) => rollup.dimensions.includes(d)) &&
    query.metrics.every((m) => m in rollup.metrics)
  );
}

/** The first (coarsest) of the view's rollups that fits the question, else undefined: the raw table. */
export function rollupFor(query: AnalyticsQuery): Rollup | undefined {
  const spec: ViewSpec = VIEWS[query.view];
  return spec.rollups?.find((rollup) => fits(query, rollup));
}

function sourceOf(query: AnalyticsQuery, rollups: boolean): Source {
  const spec: ViewSpec = VIEWS[query.view];
  const rollup = rollups ? rollupFor(query) : undefined;
  if (!rollup)
    return { from: spec.from, time: spec.time, dimensions: spec.dimensions, metric: (m) => spec.metrics[m]!.sql };
  return {
    from: rollup.table,
    time: { column: rollup.time.column, type: 'DateTime' },
    dimensions: rollup.dimensions,
    metric: (m) => rollup.metrics[m]!,
  };
}

/** A UTC bucket start as text: 'YYYY-MM-DD' for Date results, 'YYYY-MM-DD hh:mm:ss' for DateTime. */
function bucketSql(source: Source, bucket: Bucket): string {
  const column = sqlIdentifier(source.time.column, [source.time.column]);
  if (source.time.type === 'Date') {
    const start = { hour: column, day: column, week: `toMonday(${column})`, month: `toStartOfMonth(${column})` }[
      bucket
    ];
    return `toString(${start})`;
  }
  const utc = quoteString('UTC');
  return {
    hour: `toString(toStartOfHour(${column}, ${utc}), ${utc})`,
    day: `toString(toStartOfDay(${column}, ${utc}), ${utc})`,
    week: `toString(toMonday(${column}, ${utc}))`,
    month: `toString(toStartOfMonth(${column}, ${utc}))`,
  }[bucket];
}

function timeBound(source: Source, op: '>=' | '<', ms: number): string {
  const column = sqlIdentifier(source.time.column, [source.time.column]);
  // a Date column compares with the UTC day of the instant
  const bound =
    source.time.type === 'Date'
      ? `toDate(${quoteString(new Date(ms).toISOString().slice(0, 10))})`
      : sqlValue(new Date(ms));
  return `${column} ${op} ${bound}`;
}

/**
 * The SELECT for one tenant; asks for limit + 1 rows so the caller can tell a truncated answer.
 * It reads the view's rollup where the question fits it, unless `rollups` is false (the tests
 * compare both ways).
 */
export function analyticsSql(query: AnalyticsQuery, tenantId: string, { rollups = true } = {}): string {
  const source = sourceOf(query, rollups);
  const keys: string[] = [];
  const select: string[] = [];
  if (query.bucket) {
    select.push(`${bucketSql(source, query.bucket)} AS t_bucket`);
    keys.push('t_bucket');
  }
  query.dimensions.forEach((d, i) => {
    select.push(`${sqlIdentifier(d, source.dimensions)} AS d${i}`);
    keys.push(`d${i}`);
  });
  query.metrics.forEach((m, i) => select.push(`${source.metric(m)} AS m${i}`));

  const where = [`tenant_id = ${quoteString(tenantId)}`];
  if (query.from !== undefined) where.push(timeBound(source, '>=', query.from));
  if (query.to !== undefined) where.push(timeBound(source, '<', query.to));
  for (const [dimension, values] of query.filters)
    where.push(`${sqlIdentifier(dimension, source.dimensions)} IN (${values.map(quoteString).join(', ')})`);

  const grouping = keys.length > 0 ? `\nGROUP BY ${keys.join(', ')}\nORDER BY ${keys.join(', ')}` : '';
  return `SELECT ${select.join(', ')}\nFROM ${source.from}\nWHERE ${where.join('\n  AND ')}${grouping}\nLIMIT ${sqlValue(query.limit + 1)}`;
}

/** ClickHouse's positional columns back to names; 64-bit counts arrive as strings. */
export function namedRows(query: AnalyticsQuery, rows: Record<string, unknown>[]): AnalyticsRow[] {
  return rows.map((row) => {
    const named: AnalyticsRow = {};
    if (query.bucket) {
      const text = String(row.t_bucket);
      named.bucket = text.length === 10 ? `${text}T00:00:00Z` : `${text.replace(' ', 'T')}Z`;
    }
    query.dimensions.forEach((d, i) => (named[d] = String(row[`d${i}`])));
    query.metrics.forEach((m, i) => {
      const value = row[`m${i}`];
      named[m] = value === null || value === undefined ? null : Number(value);
    });
    return named;
  });
}
