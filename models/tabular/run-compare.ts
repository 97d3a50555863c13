/**
 * Two training runs side by side: which parameters changed, and each held-out metric of both with
 * the difference and which run it favours (higher accuracy, AUC or R² is better; lower log-loss,
 * calibration error, MAE or RMSE is better; counts and rates favour neither).
 */

/** A finished training job as a run: what it was trained with and how it scored on held-out rows. */
export interface Run {
  params: Record<string, unknown>;
  /** Held-out metrics by name (metrics.holdout of the job). */
  metrics: Record<string, unknown>;
}

export interface ParamDiff {
  name: string;
  /** Absent from a run: null. */
  a: unknown;
  b: unknown;
  changed: boolean;
}

export interface MetricDiff {
  name: string;
  a: number;
  b: number;
  /** b - a */
  delta: number;
  /** The run this metric favours; null when it has no better direction or both are equal. */
  better: 'a' | 'b' | null;
}

const HIGHER_IS_BETTER = new Set(['accuracy', 'auc', 'r2']);
const LOWER_IS_BETTER = new Set(['log_loss', 'calibration_error', 'mae', 'rmse']);

const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);

function favoured(name: string, a: number, b: number): 'a' | 'b' | null {
  if (a === b) return null;
  if (HIGHER_IS_BETTER.has(name)) return b > a ? 'b' : 'a';
  if (LOWER_IS_BETTER.has(name)) return b < a ? 'b' : 'a';
  return null;
}

/** Every parameter either run has, in name order, and every numeric metric both runs have. */
export function compareRuns(a: Run, b: Run): { params: ParamDiff[]; changed: string[]; metrics: MetricDiff[] } {
  const names = [...new Set([...Object.keys(a.params), ...Object.keys(b.params)])].sort();
  const params = names.map((name) => {
    const [x, y] = [a.params[name] ?? null, b.params[name] ?? null];
    return { name, a: x, b: y, changed: !same(x, y) };
  });
  const metrics = Object.keys(a.metrics)
    .filter((name) => typeof a.metrics[name] === 'number' && typeof b.metrics[name] === 'number')
    .map((name) => {
      const [x, y] = [a.metrics[name] as number, b.metrics[name] as number];
      return { name, a: x, b: y, delta: y - x, better: favoured(name, x, y) };
    });
  return { params, changed: params.filter((p) => p.changed).map((p) => p.name), metrics };
}
