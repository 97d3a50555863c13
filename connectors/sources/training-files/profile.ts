/**
 * Column types inferred from every value of a file, and the profile of a column's typed values.
 *
 * The rule (`inferType`), over a column's present (non-blank) values:
 * 1. numeric, else boolean, else timestamp (cells.ts says what each accepts): the first type that
 *    all but one value in twenty (rounded down: all of them below twenty values) fit; the values
 *    that do not fit refuse their rows, named by number and reason;
 * 2. otherwise the column holds strings: categorical when it has at most 20 distinct values, or at
 *    most 1,000 that repeat on average (distinct values at most half of the present ones); text
 *    (high-cardinality strings: names, descriptions, identifiers) when not.
 */
import type { ColumnProfile, ColumnType, TypedColumn } from '../../../models/tabular/uploaded-datasets.ts';
import { isMissing, parseBoolean, parseNumber, parseTimestamp, typedCell } from './cells.ts';

/** Distinct values counted one by one per column; past this a profile gives a lower bound. */
export const DISTINCT_CAP = 10_000;
const CATEGORICAL_ALWAYS = 20;
const CATEGORICAL_MAX = 1000;
const TOP_VALUES = 10;

/** What inference needs of a column: its present values, how many fail each type, its distinct values. */
export class ColumnCounts {
  present = 0;
  private readonly fails = { numeric: 0, boolean: 0, timestamp: 0 };
  private readonly distinct = new Set<string>();

  add(cell: string): void {
    if (isMissing(cell)) return;
    this.present += 1;
    if (parseNumber(cell) === undefined) this.fails.numeric += 1;
    if (parseBoolean(cell) === undefined) this.fails.boolean += 1;
    if (parseTimestamp(cell) === undefined) this.fails.timestamp += 1;
    if (this.distinct.size <= CATEGORICAL_MAX) this.distinct.add(cell);
  }

  infer(): ColumnType {
    const allowed = Math.floor(this.present / 20);
    if (this.present > 0) {
      for (const type of ['numeric', 'boolean', 'timestamp'] as const) if (this.fails[type] <= allowed) return type;
    }
    const distinct = this.distinct.size;
    return distinct <= CATEGORICAL_ALWAYS || (distinct <= CATEGORICAL_MAX && distinct * 2 <= this.present)
      ? 'categorical'
      : 'text';
  }
}

/** A row's cells as values of their columns' types (null when missing), or every reason it cannot be. */
export function typeRow(
  values: Record<string, string>,
  columns: readonly TypedColumn[],
): { values: (number | string | null)[] } | { error: string } {
  const typed: (number | string | null)[] = [];
  const problems: string[] = [];
  for (const column of columns) {
    const cell = Object.hasOwn(values, column.name) ? values[column.name]! : '';
    if (isMissing(cell)) {
      typed.push(null);
      continue;
    }
    const result = typedCell(column.type, cell);
    if ('error' in result) problems.push(`column ${JSON.stringify(column.name)}: ${result.error}`);
    else typed.push(result.value);
  }
  return problems.length > 0 ? { error: problems.join('; ') } : { values: typed };
}

/** Missing and distinct counts, min/max/mean/std of numbers, the most frequent values of strings and booleans. */
export class ColumnProfiler {
  private missing = 0;
  private readonly counts = new Map<string, number>();
  private capped = false;
  private n = 0;
  private mean = 0;
  private m2 = 0;
  private min = Infinity;
  private max = -Infinity;

  constructor(private readonly column: TypedColumn) {}

  add(value: number | string | null): void {
    if (value === null) {
      this.missing += 1;
      return;
    }
    const key = this.column.type === 'boolean' ? (value === 1 ? 'true' : 'false') : String(value);
    const seen = this.counts.get(key);
    if (seen !== undefined) this.counts.set(key, seen + 1);
    else if (this.counts.size < DISTINCT_CAP) this.counts.set(key, 1);
    else this.capped = true;
    if (typeof value === 'number') {
      // Welford: a stable mean and variance in one pass
      this.n += 1;
      const delta = value - this.mean;
      this.mean += delta / this.n;
      this.m2 += delta * (value - this.mean);
      if (value < this.min) this.min = value;
      if (value > this.max) this.max = value;
    }
  }

  result(): ColumnProfile {
    const { name, type } = this.column;
    const profile: ColumnProfile = {
      name,
      type,
      missing: this.missing,
      distinct: this.counts.size,
      distinct_exact: !this.capped,
    };
    if (this.n > 0 && type !== 'boolean') {
      Object.assign(profile, { min: this.min, max: this.max });
      if (type === 'numeric') Object.assign(profile, { mean: this.mean, std: Math.sqrt(this.m2 / this.n) });
    }
    if (type === 'boolean' && this.n > 0) profile.mean = this.mean;
    if (type === 'categorical' || type === 'boolean' || type === 'text') {
      profile.top = [...this.counts]
        .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, TOP_VALUES)
        .map(([value, count]) => ({ value, count }));
    }
    return profile;
  }
}
