/**
 * The feature pipeline on rows worked by hand (imputation, scaling, top-K one-hot, hashing,
 * booleans, timestamps), and its ONNX graph against the in-process transform, bit for bit, on
 * those rows and on every row of vega-datasets cars.json (which has missing horsepowers).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { InferenceSession } from 'onnxruntime-node';
import {
  fitPipeline,
  fnv1a,
  onnxFeeds,
  pipelineColumns,
  pipelineGraph,
  pipelineWidth,
  PIPELINE_DEFAULTS,
  rawNumber,
  transformRow,
  transformRows,
  type FeatureColumn,
  type FeaturePipeline,
  type RawRow,
} from './feature-pipeline.ts';
import { EncodingError } from './encoding.ts';
import { tensorInfo } from '../onnx-value-info.ts';

const { onnx } = onnxProto;

function vegaRows(name: string): RawRow[] {
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  return JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'data', name), 'utf8')) as RawRow[];
}

/** The pipeline alone as a graph, its `features` the output. */
async function onnxFeatures(pipeline: FeaturePipeline, rows: RawRow[]): Promise<Float32Array> {
  const { inputs, nodes } = pipelineGraph(pipeline);
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ],
    graph: {
      name: 'pipeline',
      input: inputs,
      output: [tensorInfo('features', onnx.TensorProto.DataType.FLOAT, ['N', pipelineWidth(pipeline)])],
      node: nodes,
    },
  }).finish();
  const session = await InferenceSession.create(bytes);
  try {
    return (await session.run(onnxFeeds(pipeline, rows))).features!.data as Float32Array;
  } finally {
    await session.release();
  }
}

const columns: FeatureColumn[] = [
  { name: 'x', kind: 'numeric' },
  { name: 'c', kind: 'categorical' },
  { name: 'flag', kind: 'boolean' },
  { name: 't', kind: 'timestamp' },
];
const rows: RawRow[] = [
  { x: 1, c: 'a', flag: true, t: '1970-01-02' },
  { x: '2', c: 'b', flag: 'false', t: 3 * 86_400_000 },
  { x: null, c: 'a', flag: 1, t: '1970/01/01 12:00' },
  { x: 5, flag: null, t: null },
];

describe('feature pipeline', () => {
  it('fits the median, the spread of the imputed column and the top categories ("" for missing) on the training rows', () => {
    const pipeline = fitPipeline(columns, rows, { ...PIPELINE_DEFAULTS, max_categories: 2 });
    // x: median of 1, 2, 5 is 2; imputed 1, 2, 2, 5: mean 2.5, standard deviation 1.5
    assert.deepEqual(pipeline.features[0], {
      name: 'x',
      kind: 'numeric',
      fill: 2,
      offset: 2.5,
      scale: Math.fround(1 / 1.5),
    });
    // c: a twice, then b and "" once each (ties by name)
    assert.deepEqual(pipeline.features[1], {
      name: 'c',
      kind: 'categorical',
      encoding: 'one_hot',
      categories: ['a', ''],
    });
    // booleans are always one-hot: true twice, then "" and false
    assert.deepEqual(pipeline.features[2], {
      name: 'flag',
      kind: 'boolean',
      encoding: 'one_hot',
      categories: ['true', ''],
    });
    // t in days: 1, 3, 0.5 and a missing one: median 1, imputed mean 1.375
    assert.equal(pipeline.features[3]!.kind, 'timestamp');
    assert.equal((pipeline.features[3] as { fill: number }).fill, 1);
    assert.equal((pipeline.features[3] as { offset: number }).offset, 1.375);
    assert.deepEqual(pipelineColumns(pipeline), ['x', 'c=a', 'c=', 'flag=true', 'flag=', 't']);

    const mean = fitPipeline(columns, rows, { ...PIPELINE_DEFAULTS, numeric_imputation: 'mean' });
    assert.equal((mean.features[0] as { fill: number }).fill, Math.fround(8 / 3));
  });

  it('transforms a raw row: missing -> the fill, unseen category -> zeros', () => {
    const pipeline = fitPipeline(columns, rows, { ...PIPELINE_DEFAULTS, max_categories: 2 });
    const t = pipeline.features[3] as { offset: number; scale: number };
    assert.deepEqual(
      Array.from(transformRow(pipeline, { x: null, c: 'zzz', flag: false, t: '1970-01-04T00:00:00Z' })),
      [
        Math.fround(Math.fround(2 - 2.5) * Math.fround(1 / 1.5)),
        0,
        0,
        0,
        0,
        Math.fround(Math.fround(3 - t.offset) * t.scale),
      ],
    );
    assert.deepEqual(
      Array.from(transformRow(pipeline, { x: 4, c: 'a', flag: true, t: '1970-01-01' }).slice(1, 5)),
      [1, 0, 1, 0],
    );
  });

  it('hashes categories with FNV-1a into buckets; a category unseen in training is zeros', () => {
    // the FNV-1a 32-bit test vectors
    assert.equal(fnv1a(''), 0x811c9dc5);
    assert.equal(fnv1a('a'), 0xe40c292c);
    assert.equal(fnv1a('foobar'), 0xbf9cf968);
    const pipeline = fitPipeline([{ name: 'c', kind: 'categorical' }], rows, {
      ...PIPELINE_DEFAULTS,
      categorical_encoding: 'hashing',
      hash_buckets: 4,
    });
    assert.deepEqual(pipeline.features[0], {
      name: 'c',
      kind: 'categorical',
      encoding: 'hashing',
      buckets: 4,
      hashed: [
        ['a', 0xe40c292c % 4],
        ['', 0x811c9dc5 % 4],
        ['b', fnv1a('b') % 4],
      ],
    });
    const a = Array.from(transformRow(pipeline, { c: 'a' }));
    assert.deepEqual(
      a,
      [0, 1, 2, 3].map((b) => (b === 0xe40c292c % 4 ? 1 : 0)),
    );
    assert.deepEqual(Array.from(transformRow(pipeline, { c: 'never seen' })), [0, 0, 0, 0]);
  });

  it('refuses values of the wrong type, naming the field (400)', () => {
    const pipeline = fitPipeline(columns, rows);
    for (const [row, field] of [
      [{ x: 'many' }, 'rows.0.x'],
      [{ x: Infinity }, 'rows.0.x'],
      [{ flag: 'maybe' }, 'rows.0.flag'],
      [{ t: 'yesterday' }, 'rows.0.t'],
      [{ c: { nested: true } }, 'rows.0.c'],
    ] as const) {
      assert.throws(
        () => transformRows(pipeline, [row]),
        (error) => error instanceof EncodingError && error.status === 400 && error.field === field,
        JSON.stringify(row),
      );
    }
    assert.ok(Number.isNaN(rawNumber('numeric', NaN, 'x')), 'NaN is missing');
    assert.equal(rawNumber('timestamp', '1970-01-01 12:00:00', 't'), 0.5, 'ClickHouse DateTime text is UTC');
    assert.equal(rawNumber('timestamp', '1970-01-01T12:00:00+02:00', 't'), Math.fround(10 / 24));
    assert.throws(() => fitPipeline([{ name: 'features', kind: 'numeric' }], rows), EncodingError);
  });

  it('the ONNX graph (Imputer, Scaler, OneHotEncoder, LabelEncoder) computes the same float32 numbers', async () => {
    for (const categorical_encoding of ['one_hot', 'hashing'] as const) {
      const pipeline = fitPipeline(columns, rows, { ...PIPELINE_DEFAULTS, categorical_encoding, max_categories: 2 });
      const probe = [...rows, { x: -7.25, c: 'zzz', flag: 'true', t: Date.UTC(2020, 1, 3, 4, 5) }, {}];
      assert.deepEqual(await onnxFeatures(pipeline, probe), transformRows(pipeline, probe), categorical_encoding);
    }
    const cars = vegaRows('cars.json');
    assert.ok(cars.some((car) => car.Horsepower === null));
    const pipeline = fitPipeline(
      [
        { name: 'Horsepower', kind: 'numeric' },
        { name: 'Weight_in_lbs', kind: 'numeric' },
        { name: 'Year', kind: 'timestamp' },
        { name: 'Origin', kind: 'categorical' },
        { name: 'Name', kind: 'categorical' },
      ],
      cars.slice(0, 300),
      { ...PIPELINE_DEFAULTS, categorical_encoding: 'hashing', hash_buckets: 16 },
    );
    assert.deepEqual(await onnxFeatures(pipeline, cars), transformRows(pipeline, cars));
  });
});
