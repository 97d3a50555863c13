/**
 * A shadow version against the active version on the same records: the rows of
 * model_shadow_scores (sql/clickhouse/0007_model_scores.sql), each a record both scored in one
 * transaction. FINAL: a redelivered row counts once.
 */
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { sqlValue } from '../core/clickhouse-sql.ts';
import { binaryMetrics, type BinaryMetrics } from './tabular/evaluation.ts';

export interface Comparison {
  /** Records scored by both, the shadow version and the active version of the time. */
  records: number;
  /** The active versions the shadow was compared with, and on how many records each. */
  active_versions: { version: string; records: number }[];
  /** Share of records where both predicted the same class. */
  agreement: number | null;
  mean_abs_probability_diff: number | null;
  /** Against the actual labels (the dataset's label rule), null without records. */
  active: BinaryMetrics | null;
  shadow: BinaryMetrics | null;
  /** shadow minus active. */
  delta: { accuracy: number; auc: number; log_loss: number; calibration_error: number } | null;
}

interface Row {
  active_version: string;
  label: number;
  probability: number;
  active_label: number;
  active_probability: number;
  actual: number;
}

export async function compareShadow(
  clickhouse: ClickHouseClient,
  tenantId: string,
  modelId: string,
  version: string,
): Promise<Comparison> {
  const result = await clickhouse.query({
    query: `SELECT active_version, label, probability, active_label, active_probability, actual FROM model_shadow_scores FINAL
             WHERE tenant_id = ${sqlValue(tenantId)} AND model_id = ${sqlValue(modelId)} AND model_version = ${sqlValue(version)}`,
    format: 'JSONEachRow',
  });
  const actual: number[] = [];
  const shadowP: number[] = [];
  const activeP: number[] = [];
  const byActive = new Map<string, number>();
  let agree = 0;
  let absDiff = 0;
  for await (const batch of result.stream()) {
    for (const line of batch) {
      const row = line.json<Row>();
      const [p, q] = [Number(row.probability), Number(row.active_probability)];
      actual.push(Number(row.actual));
      shadowP.push(p);
      activeP.push(q);
      byActive.set(row.active_version, (byActive.get(row.active_version) ?? 0) + 1);
      if (Number(row.label) === Number(row.active_label)) agree++;
      absDiff += Math.abs(p - q);
    }
  }
  const records = actual.length;
  const active_versions = [...byActive]
    .map(([v, n]) => ({ version: v, records: n }))
    .sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  if (records === 0)
    return {
      records,
      active_versions,
      agreement: null,
      mean_abs_probability_diff: null,
      active: null,
      shadow: null,
      delta: null,
    };
  const active = binaryMetrics(actual, activeP);
  const shadow = binaryMetrics(actual, shadowP);
  return {
    records,
    active_versions,
    agreement: agree / records,
    mean_abs_probability_diff: absDiff / records,
    active,
    shadow,
    delta: {
      accuracy: shadow.accuracy - active.accuracy,
      auc: shadow.auc - active.auc,
      log_loss: shadow.log_loss - active.log_loss,
      calibration_error: shadow.calibration_error - active.calibration_error,
    },
  };
}
