/**
 * The feature pipeline a model carries: from a raw row (one value per column, as a tenant's
 * dataset holds it) to the float vector the network takes. It is fitted on the training split
 * only, travels as JSON in the version's manifest, and is written into the ONNX graph in front
 * of the model, so an online, batch or streaming caller hands over raw values and gets the
 * answer training measured.
 *
 *   numeric, timestamp   missing (null, NaN) -> the training mean or median (ai.onnx.ml Imputer),
 *                        then (x - mean) / std of the imputed training column (ai.onnx.ml Scaler).
 *                        A timestamp enters as days since 1970-01-01 UTC.
 *   categorical, boolean one-hot of the most frequent training categories (ai.onnx.ml
 *                        OneHotEncoder); a category not kept is all zeros. Or, for categorical,
 *                        hashing into `hash_buckets` columns: FNV-1a of the UTF-8 bytes modulo
 *                        the buckets. ONNX has no portable string hash, so the graph holds the
 *                        bucket of each category seen in training (ai.onnx.ml LabelEncoder, then
 *                        OneHotEncoder); a category never seen in training is all zeros, in
 *                        process as in the graph. A missing value is the category "" and is
 *                        counted like any other.
 *
 * Both paths compute in float32 from the float32 input, so the in-process transform gives the
 * graph's numbers exactly.
 */
import onnxProto from 'onnx-proto';
import { Tensor } from 'onnxruntime-node';
import { EncodingError } from './encoding.ts';
import { constantSpread } from './matrix.ts';
import { tensorInfo } from '../onnx-value-info.ts';

const { onnx } = onnxProto;
const { FLOAT, STRING } = onnx.TensorProto.DataType;
const { FLOAT: FLOAT_ATTRIBUTE, FLOATS, INT, INTS, STRINGS } = onnx.AttributeProto.AttributeType;
type Node = onnxProto.onnx.INodeProto;

export type ColumnKind = 'numeric' | 'timestamp' | 'categorical' | 'boolean';
export interface FeatureColumn {
  name: string;
  kind: ColumnKind;
}

export interface PipelineOptions {
  numeric_imputation: 'mean' | 'median';
  categorical_encoding: 'one_hot' | 'hashing';
  /** One-hot: the most frequent categories kept per feature. */
  max_categories: number;
  /** Hashing: columns per feature. */
  hash_buckets: number;
  /** Hashing: the most frequent training categories the graph maps to their bucket. */
  max_hashed_categories: number;
}

export const PIPELINE_DEFAULTS: PipelineOptions = {
  numeric_imputation: 'median',
  categorical_encoding: 'one_hot',
  max_categories: 20,
  hash_buckets: 32,
  max_hashed_categories: 10_000,
};

/** Fitted values are float32, as the graph holds them. */
export type FittedFeature =
  | { name: string; kind: 'numeric' | 'timestamp'; fill: number; offset: number; scale: number }
  | { name: string; kind: 'categorical' | 'boolean'; encoding: 'one_hot'; categories: string[] }
  | { name: string; kind: 'categorical'; encoding: 'hashing'; buckets: number; hashed: [string, number][] };

export interface FeaturePipeline {
  features: FittedFeature[];
}

export type RawRow = Record<string, unknown>;

/** Names the graph uses itself: no feature may take them. */
const RESERVED = new Set(['features', 'label', 'probabilities', 'prediction']);
const DAY_MS = 86_400_000;

export function checkFeatureNames(columns: readonly FeatureColumn[]): void {
  const seen = new Set<string>();
  for (const { name } of columns) {
    if (!name || RESERVED.has(name) || name.includes('/'))
      throw new EncodingError('features', `feature name ${JSON.stringify(name)} is reserved or has a "/"`);
    if (seen.has(name)) throw new EncodingError('features', `feature ${JSON.stringify(name)} is listed twice`);
    seen.add(name);
  }
}

/** A numeric or timestamp value as the graph's float32 input: NaN when missing. */
export function rawNumber(kind: 'numeric' | 'timestamp', value: unknown, field: string): number {
  if (value === null || value === undefined || value === '') return NaN;
  if (kind === 'timestamp') {
    const ms =
      value instanceof Date
        ? value.getTime()
        : typeof value === 'number'
          ? value
          : typeof value === 'string'
            ? parseTime(value)
            : NaN;
    if (!Number.isFinite(ms))
      throw new EncodingError(field, `${field} must be a time (ISO 8601 or epoch milliseconds), or null`);
    return Math.fround(ms / DAY_MS);
  }
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : NaN;
  if (typeof value === 'number' && Number.isNaN(value)) return NaN;
  if (!Number.isFinite(n)) throw new EncodingError(field, `${field} must be a finite number, or null`);
  return Math.fround(n);
}

/** ISO 8601, ClickHouse's `YYYY-MM-DD hh:mm:ss` or `YYYY/MM/DD hh:mm`; UTC unless the text names a zone. */
function parseTime(text: string): number {
  const iso = text
    .trim()
    .replace(/^(\d{4})\/(\d\d)\/(\d\d)/, '$1-$2-$3')
    .replace(' ', 'T');
  const zoned = /T.*(Z|[+-]\d\d:?\d\d)$/.test(iso) || !iso.includes('T');
  return Date.parse(zoned ? iso : `${iso}Z`);
}

/** A categorical or boolean value as the graph's string input: "" when missing. */
export function rawCategory(kind: 'categorical' | 'boolean', value: unknown, field: string): string {
  if (value === null || value === undefined) return '';
  if (kind === 'boolean') {
    if (value === true || value === 'true' || value === 1 || value === '1') return 'true';
    if (value === false || value === 'false' || value === 0 || value === '0') return 'false';
    if (value === '') return '';
    throw new EncodingError(field, `${field} must be a boolean, or null`);
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new EncodingError(field, `${field} must be a string, or null`);
}

/** FNV-1a (32 bits) of the UTF-8 bytes: the hashing encoding's bucket, before the modulo. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}

const byCountThenName = ([a, x]: [string, number], [b, y]: [string, number]) => y - x || (a < b ? -1 : a > b ? 1 : 0);

function fitNumeric(
  column: FeatureColumn & { kind: 'numeric' | 'timestamp' },
  values: number[],
  how: 'mean' | 'median',
) {
  const present = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  let fill = 0;
  if (present.length > 0) {
    const middle = present.length >> 1;
    fill =
      how === 'mean'
        ? present.reduce((s, v) => s + v, 0) / present.length
        : present.length % 2 === 1
          ? present[middle]!
          : (present[middle - 1]! + present[middle]!) / 2;
  }
  fill = Math.fround(fill);
  const imputed = values.map((v) => (Number.isNaN(v) ? fill : v));
  const mean = imputed.reduce((s, v) => s + v, 0) / Math.max(1, imputed.length);
  const std = Math.sqrt(imputed.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, imputed.length));
  return {
    name: column.name,
    kind: column.kind,
    fill,
    offset: Math.fround(mean),
    // a constant column stays put rather than dividing by zero
    scale: Math.fround(constantSpread(std, mean) ? 1 : 1 / std),
  };
}

/** Fits the pipeline on the training rows. */
export function fitPipeline(
  columns: readonly FeatureColumn[],
  rows: readonly RawRow[],
  options: PipelineOptions = PIPELINE_DEFAULTS,
): FeaturePipeline {
  checkFeatureNames(columns);
  return {
    features: columns.map((column): FittedFeature => {
      if (column.kind === 'numeric' || column.kind === 'timestamp') {
        const values = rows.map((row, i) =>
          rawNumber(column.kind as 'numeric', row[column.name], `rows.${i}.${column.name}`),
        );
        return fitNumeric(column as FeatureColumn & { kind: 'numeric' }, values, options.numeric_imputation);
      }
      const counts = new Map<string, number>();
      rows.forEach((row, i) => {
        const category = rawCategory(column.kind as 'categorical', row[column.name], `rows.${i}.${column.name}`);
        counts.set(category, (counts.get(category) ?? 0) + 1);
      });
      const ranked = [...counts.entries()].sort(byCountThenName);
      if (column.kind === 'categorical' && options.categorical_encoding === 'hashing') {
        return {
          name: column.name,
          kind: 'categorical',
          encoding: 'hashing',
          buckets: options.hash_buckets,
          hashed: ranked
            .slice(0, options.max_hashed_categories)
            .map(([category]): [string, number] => [category, fnv1a(category) % options.hash_buckets]),
        };
      }
      return {
        name: column.name,
        kind: column.kind,
        encoding: 'one_hot',
        categories: ranked.slice(0, options.max_categories).map(([category]) => category),
      };
    }),
  };
}

const widthOf = (f: FittedFeature) => ('categories' in f ? f.categories.length : 'buckets' in f ? f.buckets : 1);

export const pipelineWidth = (pipeline: FeaturePipeline) => pipeline.features.reduce((s, f) => s + widthOf(f), 0);

/** A name per output column: `Horsepower`, `Origin=USA`, `Origin#7` (a hash bucket). */
export function pipelineColumns(pipeline: FeaturePipeline): string[] {
  return pipeline.features.flatMap((f) =>
    'categories' in f
      ? f.categories.map((c) => `${f.name}=${c}`)
      : 'buckets' in f
        ? Array.from({ length: f.buckets }, (_, b) => `${f.name}#${b}`)
        : [f.name],
  );
}

/** The row's values as the graph's inputs take them, one per feature; `prefix` starts the field names of problems. */
/** A raw row as the graph's input values, one per feature; throws the EncodingError naming `<prefix><feature>`. */
export function inputValues(pipeline: FeaturePipeline, row: RawRow, prefix: string): (number | string)[] {
  return pipeline.features.map((f) =>
    f.kind === 'numeric' || f.kind === 'timestamp'
      ? rawNumber(f.kind, row[f.name], `${prefix}${f.name}`)
      : rawCategory(f.kind, row[f.name], `${prefix}${f.name}`),
  );
}

/** Per hashed feature, its categories' buckets as a Map (the manifest holds them as pairs). */
type Lookups = (Map<string, number> | undefined)[];

/** Writes the row's features at `out[offset...]`, which must be zero where one-hot columns are off. */
function transformValues(
  pipeline: FeaturePipeline,
  lookups: Lookups,
  values: (number | string)[],
  out: Float32Array,
  offset: number,
): void {
  let column = offset;
  pipeline.features.forEach((f, j) => {
    const value = values[j]!;
    if ('fill' in f) {
      const x = Number.isNaN(value as number) ? f.fill : (value as number);
      out[column] = Math.fround(Math.fround(x - f.offset) * f.scale);
    } else {
      const at = 'categories' in f ? f.categories.indexOf(value as string) : (lookups[j]!.get(value as string) ?? -1);
      if (at >= 0) out[column + at] = 1;
    }
    column += widthOf(f);
  });
}

/** Raw rows to the feature matrix (rows x width, row-major), as the graph computes it; throws on a bad value. */
export function transformRows(pipeline: FeaturePipeline, rows: readonly RawRow[]): Float32Array {
  const width = pipelineWidth(pipeline);
  const out = new Float32Array(rows.length * width);
  const lookups = pipeline.features.map((f) => ('hashed' in f ? new Map(f.hashed) : undefined));
  rows.forEach((row, i) =>
    transformValues(pipeline, lookups, inputValues(pipeline, row, `rows.${i}.`), out, i * width),
  );
  return out;
}

/** One raw row's features. */
export const transformRow = (pipeline: FeaturePipeline, row: RawRow): Float32Array => transformRows(pipeline, [row]);

/** The ONNX Runtime inputs for raw rows: float [N, 1] per numeric or timestamp feature (NaN = missing), string [N, 1] per categorical or boolean one. */
export function onnxFeeds(pipeline: FeaturePipeline, rows: readonly RawRow[]): Record<string, Tensor> {
  return valueFeeds(
    pipeline,
    rows.map((row, i) => inputValues(pipeline, row, `rows.${i}.`)),
  );
}

/** The ONNX Runtime inputs for rows already turned into input values (inputValues). */
export function valueFeeds(pipeline: FeaturePipeline, values: readonly (number | string)[][]): Record<string, Tensor> {
  return Object.fromEntries(
    pipeline.features.map((f, j) => [
      f.name,
      'fill' in f
        ? new Tensor(
            'float32',
            Float32Array.from(values, (v) => v[j] as number),
            [values.length, 1],
          )
        : new Tensor(
            'string',
            values.map((v) => v[j] as string),
            [values.length, 1],
          ),
    ]),
  );
}

const bytes = (s: string) => new TextEncoder().encode(s);

/** The graph's inputs and the nodes that turn them into `features` float [N, width]. */
export function pipelineGraph(pipeline: FeaturePipeline): {
  inputs: ReturnType<typeof tensorInfo>[];
  nodes: Node[];
} {
  const nodes: Node[] = [];
  const outputs: string[] = [];
  pipeline.features.forEach((f, j) => {
    const at = (step: string) => `pipeline/${j}/${step}`;
    const ml = (opType: string, input: string, output: string, attribute: Node['attribute']): Node => ({
      name: output,
      opType,
      domain: 'ai.onnx.ml',
      input: [input],
      output: [output],
      attribute,
    });
    if ('fill' in f) {
      nodes.push(
        ml('Imputer', f.name, at('imputed'), [
          { name: 'imputed_value_floats', type: FLOATS, floats: [f.fill] },
          { name: 'replaced_value_float', type: FLOAT_ATTRIBUTE, f: NaN },
        ]),
        ml('Scaler', at('imputed'), at('scaled'), [
          { name: 'offset', type: FLOATS, floats: [f.offset] },
          { name: 'scale', type: FLOATS, floats: [f.scale] },
        ]),
      );
      outputs.push(at('scaled'));
      return;
    }
    let categories = f.name;
    let oneHot: Node['attribute'];
    if ('categories' in f) {
      oneHot = [{ name: 'cats_strings', type: STRINGS, strings: f.categories.map(bytes) }];
    } else {
      categories = at('bucket');
      nodes.push(
        ml('LabelEncoder', f.name, categories, [
          { name: 'keys_strings', type: STRINGS, strings: f.hashed.map(([c]) => bytes(c)) },
          { name: 'values_int64s', type: INTS, ints: f.hashed.map(([, b]) => b) },
          { name: 'default_int64', type: INT, i: -1 },
        ]),
      );
      oneHot = [{ name: 'cats_int64s', type: INTS, ints: Array.from({ length: f.buckets }, (_, b) => b) }];
    }
    nodes.push(
      ml('OneHotEncoder', categories, at('one_hot'), [...oneHot, { name: 'zeros', type: INT, i: 1 }]),
      // [N, 1, K] -> [N, K]
      {
        name: at('columns'),
        opType: 'Flatten',
        input: [at('one_hot')],
        output: [at('columns')],
        attribute: [{ name: 'axis', type: INT, i: 1 }],
      },
    );
    outputs.push(at('columns'));
  });
  nodes.push({
    name: 'features',
    opType: 'Concat',
    input: outputs,
    output: ['features'],
    attribute: [{ name: 'axis', type: INT, i: 1 }],
  });
  return {
    inputs: pipeline.features.map((f) => tensorInfo(f.name, 'fill' in f ? FLOAT : STRING, ['N', 1])),
    nodes,
  };
}
