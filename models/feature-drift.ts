/**
 * Feature drift of a production model: for every input feature, the population stability index
 * (models/drift.ts `psi`) of the records the version scored in the last window against the rows it
 * was trained on (its dataset version, held-out rows aside). Numeric features are cut at the
 * training deciles, categorical ones keep the training's ten most frequent categories and
 * "(other)". The window is the last `windowHours` of event time the version scored, ending at the
 * newest record it scored, so replayed history drifts as live records do. Both sides are read in
 * ClickHouse with the feature expressions training used (dataset-spec.ts), FINAL: a record landed
 * twice counts once.
 */
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { sqlValue } from '../core/clickhouse-sql.ts';
import { psi } from './drift.ts';
import {
  rowsWithIds,
  TABLES,
  trainingRowsFrom,
  type DatasetDefinition,
  type FeatureKind,
} from './tabular/dataset-spec.ts';

const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const TOP_CATEGORIES = 10;
const OTHER = '(other)';

export interface FeatureDrift {
  feature: string;
  kind: FeatureKind;
  psi: number;
  drifting: boolean;
  /** per bin: its name (`<= edge`, `> edge`, a category, "(other)") and the share of each side */
  bins: { bin: string; training_share: number; scored_share: number }[];
}

export interface ModelFeatureDrift {
  window: { from: string; to: string } | null;
  training_rows: number;
  scored_rows: number;
  threshold: number;
  /** some feature's PSI is above the threshold */
  drifting: boolean;
  features: FeatureDrift[];
}

interface Subject {
  tenantId: string;
  modelId: string;
  version: string;
  definition: DatasetDefinition;
}

const json = async <T>(clickhouse: ClickHouseClient, query: string): Promise<T[]> =>
  (await clickhouse.query({ query, format: 'JSONEachRow' })).json<T>();

/** The bins of each feature, from the training rows: decile edges, or the top categories. */
async function binsOf(clickhouse: ClickHouseClient, subject: Subject, trainingFrom: string) {
  const table = TABLES[subject.definition.table]!;
  const stats = subject.definition.features.map((f, j) => {
    const { sql, kind } = table.features[f]!;
    return kind === 'numeric'
      ? `quantilesExact(${DECILES.join(', ')})(toFloat64(${sql})) AS b${j}`
      : `topK(${TOP_CATEGORIES})(toString(${sql})) AS b${j}`;
  });
  const [row] = await json<Record<string, (number | string)[]>>(
    clickhouse,
    `SELECT ${stats.join(', ')} ${trainingFrom}`,
  );
  return subject.definition.features.map((f, j) => {
    const kind = table.features[f]!.kind;
    const values = row?.[`b${j}`] ?? [];
    // equal deciles (a feature with few values) make empty bins: keep each edge once
    return {
      feature: f,
      kind,
      sql: table.features[f]!.sql,
      edges: kind === 'numeric' ? [...new Set(values as number[])] : [],
      categories: kind === 'numeric' ? [] : (values as string[]),
    };
  });
}

type Bins = Awaited<ReturnType<typeof binsOf>>;

/** A bin's name for each row, per feature, as (feature index, bin) pairs counted in one pass (a numeric bin: how many edges the value is above). */
function binExpression(bins: Bins): string {
  const pairs = bins.map((b, j) =>
    b.kind === 'numeric'
      ? `(${j}, toString(${b.edges.map((e) => `(toFloat64(${b.sql}) > ${sqlValue(e)})`).join(' + ') || '0'}))`
      : `(${j}, if(toString(${b.sql}) IN (${b.categories.map((c) => sqlValue(c)).join(', ') || "''"}), toString(${b.sql}), ${sqlValue(OTHER)}))`,
  );
  return `arrayJoin([${pairs.join(', ')}])`;
}

async function counts(clickhouse: ClickHouseClient, bins: Bins, from: string): Promise<Map<string, number>> {
  const rows = await json<{ f: number; bin: string; n: string }>(
    clickhouse,
    `SELECT fb.1 AS f, fb.2 AS bin, count() AS n FROM (SELECT ${binExpression(bins)} AS fb ${from}) GROUP BY f, bin`,
  );
  return new Map(rows.map((r) => [`${r.f}\0${r.bin}`, Number(r.n)]));
}

const binName = (b: Bins[number], bin: string) => {
  if (b.kind !== 'numeric') return bin;
  const i = Number(bin);
  return i === 0 ? `<= ${b.edges[0] ?? '∞'}` : `> ${b.edges[i - 1]}`;
};

/**
 * The drift of every feature of a version trained on a dataset of whitelisted tables, over the
 * last `windowHours` it scored; `window` is null (and every PSI 0) when it scored nothing.
 */
export async function featureDrift(
  clickhouse: ClickHouseClient,
  subject: Subject,
  { windowHours, threshold }: { windowHours: number; threshold: number },
): Promise<ModelFeatureDrift> {
  const { definition, tenantId } = subject;
  const scores = `model_scores FINAL WHERE tenant_id = ${sqlValue(tenantId)} AND model_id = ${sqlValue(subject.modelId)} AND model_version = ${sqlValue(subject.version)}`;
  const [newest] = await json<{ to: number | null; rows: string }>(
    clickhouse,
    `SELECT toUnixTimestamp(max(event_time)) AS to, count() AS rows FROM ${scores}`,
  );
  const training = trainingRowsFrom(definition, tenantId);
  const bins = await binsOf(clickhouse, subject, training);
  const to = newest && Number(newest.rows) > 0 ? Number(newest.to) : null;
  const from = to === null ? null : to - windowHours * 3600;
  const scored =
    to === null
      ? null
      : rowsWithIds(
          definition,
          tenantId,
          `SELECT id FROM ${scores} AND event_time > toDateTime(${from}, 'UTC') AND event_time <= toDateTime(${to}, 'UTC')`,
        );
  const [trainingCounts, scoredCounts] = await Promise.all([
    counts(clickhouse, bins, training),
    scored ? counts(clickhouse, bins, scored) : Promise.resolve(new Map<string, number>()),
  ]);
  const total = (m: Map<string, number>, j: number) =>
    [...m.entries()].filter(([k]) => k.startsWith(`${j}\0`)).reduce((s, [, n]) => s + n, 0);
  const features = bins.map((b, j): FeatureDrift => {
    const names =
      b.kind === 'numeric' ? b.edges.map((_, i) => String(i)).concat(String(b.edges.length)) : [...b.categories, OTHER];
    const expected = names.map((n) => trainingCounts.get(`${j}\0${n}`) ?? 0);
    const actual = names.map((n) => scoredCounts.get(`${j}\0${n}`) ?? 0);
    const [e, a] = [total(trainingCounts, j) || 1, total(scoredCounts, j) || 1];
    const value = scored ? psi(expected, actual) : 0;
    return {
      feature: b.feature,
      kind: b.kind,
      psi: value,
      drifting: value > threshold,
      bins: names.map((n, i) => ({
        bin: binName(b, n),
        training_share: expected[i]! / e,
        scored_share: actual[i]! / a,
      })),
    };
  });
  return {
    window: to === null ? null : { from: new Date(from! * 1000).toISOString(), to: new Date(to * 1000).toISOString() },
    training_rows: total(trainingCounts, 0),
    scored_rows: total(scoredCounts, 0),
    threshold,
    drifting: features.some((f) => f.drifting),
    features,
  };
}
