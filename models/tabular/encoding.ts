/**
 * From a dataset's raw feature values to the float vector the models and their ONNX graphs take.
 * Numeric features pass as they are. A categorical feature keeps its most frequent categories
 * (fitted on the training rows): one-hot columns for linear models, or one ordinal column for
 * trees, the categories ordered by their positive rate so that one threshold splits them well.
 * A category not kept is all zeros (one-hot) or -1 (ordinal). The encoding travels in the
 * version's manifest, so a predicting process encodes exactly as training did.
 */
import type { FeatureSpec } from './dataset-spec.ts';
import type { RawValue } from './dataset-spec.ts';
import { MillraceError } from '../../core/errors.ts';

export type CategoricalEncoding = 'one_hot' | 'ordinal';

export type EncodedFeature =
  | { name: string; kind: 'numeric' }
  | { name: string; kind: 'categorical'; encoding: CategoricalEncoding; categories: string[] };

export interface Encoding {
  features: EncodedFeature[];
}

export class EncodingError extends MillraceError {
  override name = 'EncodingError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message, { code: 'invalid_request', status: 400, details: { field } });
  }
}

export function fitEncoding(
  specs: FeatureSpec[],
  columns: RawValue[][],
  labels: Uint8Array,
  encoding: CategoricalEncoding,
  maxCategories: number,
): Encoding {
  return {
    features: specs.map((spec, j): EncodedFeature => {
      if (spec.kind === 'numeric') return { name: spec.name, kind: 'numeric' };
      const stats = new Map<string, { count: number; positives: number }>();
      columns[j]!.forEach((value, i) => {
        const s = stats.get(String(value)) ?? { count: 0, positives: 0 };
        s.count++;
        s.positives += labels[i]!;
        stats.set(String(value), s);
      });
      const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
      const kept = [...stats.entries()]
        .sort(([a, x], [b, y]) => y.count - x.count || byName(a, b))
        .slice(0, maxCategories);
      if (encoding === 'ordinal')
        kept.sort(([a, x], [b, y]) => x.positives / x.count - y.positives / y.count || byName(a, b));
      return { name: spec.name, kind: 'categorical', encoding, categories: kept.map(([name]) => name) };
    }),
  };
}

export function encodedWidth(encoding: Encoding): number {
  return encoding.features.reduce(
    (sum, f) => sum + (f.kind === 'categorical' && f.encoding === 'one_hot' ? f.categories.length : 1),
    0,
  );
}

/** A name per encoded column: `distance`, `origin=ORD`, `origin` (ordinal). */
export function encodedColumns(encoding: Encoding): string[] {
  return encoding.features.flatMap((f) =>
    f.kind === 'categorical' && f.encoding === 'one_hot' ? f.categories.map((c) => `${f.name}=${c}`) : [f.name],
  );
}

/** Writes one row's encoded values at `out[offset...]`; `out` is zero where one-hot columns are off. */
export function encodeInto(encoding: Encoding, values: readonly RawValue[], out: Float32Array, offset: number): void {
  let column = offset;
  encoding.features.forEach((f, j) => {
    const value = values[j]!;
    if (f.kind === 'numeric') {
      out[column++] = Number(value);
    } else if (f.encoding === 'ordinal') {
      out[column++] = f.categories.indexOf(String(value));
    } else {
      const at = f.categories.indexOf(String(value));
      if (at >= 0) out[column + at] = 1;
      column += f.categories.length;
    }
  });
}

/** What is wrong with a row given as an object by feature name, if anything; fields named `<prefix><feature>`. */
export function rowProblem(
  encoding: Encoding,
  row: Record<string, unknown>,
  prefix: string,
): EncodingError | undefined {
  for (const f of encoding.features) {
    const value = row[f.name];
    const field = `${prefix}${f.name}`;
    if (value === undefined || value === null) return new EncodingError(field, `${field} is missing`);
    if (f.kind === 'numeric' && (typeof value !== 'number' || !Number.isFinite(value)))
      return new EncodingError(field, `${field} must be a finite number`);
    if (f.kind === 'categorical' && typeof value !== 'string')
      return new EncodingError(field, `${field} must be a string`);
  }
  return undefined;
}

/** Encodes rows given as objects by feature name; throws the first row's problem. */
export function encodeObjects(encoding: Encoding, rows: readonly Record<string, unknown>[]): Float32Array {
  const width = encodedWidth(encoding);
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, i) => {
    const problem = rowProblem(encoding, row, `rows.${i}.`);
    if (problem) throw problem;
    encodeInto(
      encoding,
      encoding.features.map((f) => row[f.name] as RawValue),
      out,
      i * width,
    );
  });
  return out;
}
