/**
 * One training run: stream a dataset from ClickHouse, split off the held-out rows (by a hash of
 * each row's id, so the split never changes), fit the encoding and the model on the rest,
 * evaluate on the held-out rows, export ONNX and check that ONNX Runtime gives the same
 * probabilities as the in-process model on every held-out row.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { ALGORITHMS, predictInProcess, type Algorithm } from './algorithms.ts';
import { featuresOf, type RawValue } from './dataset-spec.ts';
import { streamDataset, type Dataset } from './training-datasets.ts';
import { encodedColumns, encodedWidth, encodeInto, fitEncoding, type Encoding } from './encoding.ts';
import type { Matrix, Progress } from './matrix.ts';
import { binaryMetrics, majorityBaseline, type BinaryMetrics } from './evaluation.ts';
import { exportTabularOnnx, type TabularModel } from './onnx.ts';
import { errorKind } from '../../core/errors.ts';

/** A reason a job cannot succeed whatever trainer runs it: reported, not retried. */
export class TrainingRefused extends errorKind('TrainingRefused', { code: 'training_refused', status: 400 }) {}

/** Largest |ONNX - in-process| probability accepted: float32 arithmetic against float64. */
export const AGREEMENT_TOLERANCE = 1e-5;
const MIN_ROWS = 20;

interface Columns {
  values: RawValue[][];
  labels: number[];
}

export interface TrainedModel {
  algorithm: Algorithm;
  model: TabularModel;
  encoding: Encoding;
  columns: string[];
  onnx: Uint8Array;
  holdout: Matrix;
  /** In-process probabilities of the held-out rows. */
  probabilities: Float64Array;
  metrics: BinaryMetrics;
  baseline: BinaryMetrics;
  agreement: { rows: number; max_abs_diff: number; label_mismatches: number };
  train_rows: number;
  training_ms: number;
}

function toMatrix(encoding: Encoding, columns: Columns): Matrix {
  const width = encodedWidth(encoding);
  const rows = columns.labels.length;
  const X = new Float32Array(rows * width);
  const row: RawValue[] = new Array(columns.values.length);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns.values.length; j++) row[j] = columns.values[j]![i]!;
    encodeInto(encoding, row, X, i * width);
  }
  return { X, y: Uint8Array.from(columns.labels), rows, width };
}

export async function onnxProbabilities(
  onnx: Uint8Array,
  data: Matrix,
): Promise<{ probabilities: Float32Array; labels: BigInt64Array }> {
  const session = await InferenceSession.create(onnx, { executionMode: 'sequential', intraOpNumThreads: 1 });
  try {
    const out = await session.run({ features: new Tensor('float32', data.X, [data.rows, data.width]) });
    const pairs = out.probabilities!.data as Float32Array;
    return {
      probabilities: Float32Array.from({ length: data.rows }, (_, i) => pairs[2 * i + 1]!),
      labels: out.label!.data as BigInt64Array,
    };
  } finally {
    await session.release();
  }
}

export async function trainOnDataset(options: {
  clickhouse: ClickHouseClient;
  dataset: Dataset;
  algorithm: Algorithm;
  /** Parsed by parseParams: defaults filled in. */
  params: Record<string, unknown> & { max_categories: number };
  meta: { id: string; version: string };
  progress: Progress;
}): Promise<TrainedModel> {
  const { dataset, algorithm, params } = options;
  const width = dataset.definition.features.length;
  const train: Columns = { values: Array.from({ length: width }, () => []), labels: [] };
  const held: Columns = { values: Array.from({ length: width }, () => []), labels: [] };
  for await (const row of streamDataset(options.clickhouse, dataset)) {
    const into = row.holdout ? held : train;
    row.features.forEach((v, j) => into.values[j]!.push(v));
    into.labels.push(row.label);
  }
  const positives = train.labels.reduce((s, y) => s + y, 0);
  if (train.labels.length < MIN_ROWS)
    throw new TrainingRefused(`the dataset has ${train.labels.length} training rows; at least ${MIN_ROWS} are needed`);
  if (held.labels.length === 0) throw new TrainingRefused('the dataset has no held-out rows to evaluate on');
  if (positives === 0 || positives === train.labels.length) {
    throw new TrainingRefused(
      `the label has one class only: all ${train.labels.length} training rows are ${positives === 0 ? 'negative' : 'positive'}`,
    );
  }

  const started = performance.now();
  const spec = ALGORITHMS[algorithm];
  const encoding = fitEncoding(
    featuresOf(dataset.definition),
    train.values,
    Uint8Array.from(train.labels),
    spec.encoding,
    params.max_categories,
  );
  const trainMatrix = toMatrix(encoding, train);
  const model = await spec.train(trainMatrix, params, options.progress);
  const training_ms = Math.round(performance.now() - started);

  const holdout = toMatrix(encoding, held);
  const probabilities = predictInProcess(model, holdout.X, holdout.width);
  const columns = encodedColumns(encoding);
  const onnx = exportTabularOnnx(model, holdout.width, { ...options.meta, columns });
  const fromOnnx = await onnxProbabilities(onnx, holdout);
  let maxDiff = 0;
  let mismatches = 0;
  for (let i = 0; i < holdout.rows; i++) {
    const diff = Math.abs(fromOnnx.probabilities[i]! - probabilities[i]!);
    maxDiff = Math.max(maxDiff, diff);
    // a probability within the tolerance of 0.5 may fall either side in float32
    if (
      Number(fromOnnx.labels[i]) !== (probabilities[i]! > 0.5 ? 1 : 0) &&
      Math.abs(probabilities[i]! - 0.5) > AGREEMENT_TOLERANCE
    )
      mismatches++;
  }
  if (maxDiff > AGREEMENT_TOLERANCE || mismatches > 0) {
    throw new Error(
      `the ONNX model disagrees with the in-process model on the held-out rows: max |diff| ${maxDiff}, ${mismatches} labels differ`,
    );
  }
  return {
    algorithm,
    model,
    encoding,
    columns,
    onnx,
    holdout,
    probabilities,
    metrics: binaryMetrics(holdout.y, probabilities),
    baseline: majorityBaseline(holdout.y, positives / train.labels.length),
    agreement: { rows: holdout.rows, max_abs_diff: maxDiff, label_mismatches: mismatches },
    train_rows: trainMatrix.rows,
    training_ms,
  };
}
