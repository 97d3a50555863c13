/**
 * A training run on raw rows held in memory (an array of records, wherever they came from: a
 * tenant's uploaded dataset read from ClickHouse, a file): set the held-out fifth apart by a hash
 * of each row's id (or its index), fit the feature pipeline and the multilayer perceptron on the
 * rest, evaluate on the held-out rows against a baseline, export the pipeline and the network as
 * one ONNX graph taking raw values, and check that ONNX Runtime gives the in-process answer on
 * every held-out row. Rows without a target are skipped and counted.
 */
import {
  binaryMetrics,
  majorityBaseline,
  majorityClassBaseline,
  meanBaseline,
  multiclassMetrics,
  regressionMetrics,
  argMax,
  type BinaryMetrics,
  type MulticlassMetrics,
  type RegressionMetrics,
} from './evaluation.ts';
import {
  fitPipeline,
  fnv1a,
  pipelineColumns,
  pipelineWidth,
  PIPELINE_DEFAULTS,
  rawCategory,
  rawNumber,
  transformRows,
  type FeatureColumn,
  type FeaturePipeline,
  type PipelineOptions,
  type RawRow,
} from './feature-pipeline.ts';
import {
  MLP_DEFAULTS,
  predictMlp,
  trainMlp,
  type MlpModel,
  type MlpParams,
  type MlpProgress,
  type MlpTask,
} from './mlp.ts';
import { exportMlpOnnx } from './mlp-onnx.ts';
import { PipelineSession, type PipelineOutputs } from './pipeline-session.ts';
import { AGREEMENT_TOLERANCE, TrainingRefused } from './train.ts';

const MIN_ROWS = 20;
const MAX_CLASSES = 100;

export interface RowsTrainingOptions {
  rows: readonly RawRow[];
  target: string;
  features: FeatureColumn[];
  task: MlpTask;
  params?: Partial<MlpParams>;
  pipeline?: Partial<PipelineOptions>;
  /** A row's id, which alone decides whether it is held out; the row's index when left out. */
  rowId?: (row: RawRow, index: number) => string;
  /** Part of the rows held out, 0.2 unless told. */
  holdout_fraction?: number;
  meta: { id: string; version: string };
  progress?: MlpProgress;
}

export interface RowsTrainedModel {
  task: MlpTask;
  model: MlpModel;
  pipeline: FeaturePipeline;
  /** Classification: the class names, sorted; binary metrics count the second as positive. */
  classes?: string[];
  onnx: Uint8Array;
  metrics: BinaryMetrics | MulticlassMetrics | RegressionMetrics;
  /** The majority class at the training rate, or the training mean. */
  baseline: BinaryMetrics | MulticlassMetrics | RegressionMetrics;
  agreement: { rows: number; max_abs_diff: number; label_mismatches: number };
  train_rows: number;
  holdout_rows: number;
  skipped_rows: number;
  training_ms: number;
  /** What the version's manifest says of the model: inputs, outputs, pipeline, classes, metrics. */
  manifest: ReturnType<typeof manifestOf>;
}

/** Whether a row is held out: FNV-1a of its id, so the split never changes with the order or the other rows. */
export const isHeldOut = (id: string, fraction: number) => fnv1a(`holdout:${id}`) % 10_000 < fraction * 10_000;

/** The graph's answer for raw rows: class probabilities (rows x classes) and labels, or predictions. */
export async function onnxPredict(
  onnx: Uint8Array,
  pipeline: FeaturePipeline,
  rows: readonly RawRow[],
): Promise<PipelineOutputs> {
  const session = await PipelineSession.load(onnx, { pipeline });
  try {
    return await session.run(rows);
  } finally {
    await session.release();
  }
}

/** The in-process answer for raw rows: class probabilities (rows x classes) or predictions. */
export function predictRows(
  trained: Pick<RowsTrainedModel, 'model' | 'pipeline'>,
  rows: readonly RawRow[],
): Float64Array {
  return predictMlp(trained.model, transformRows(trained.pipeline, rows), pipelineWidth(trained.pipeline));
}

/** Largest |ONNX - in-process| difference accepted; a regression's is relative to the value when that exceeds 1. */
const withinTolerance = (diff: number, value: number) => diff <= AGREEMENT_TOLERANCE * Math.max(1, Math.abs(value));

export async function trainFromRows(options: RowsTrainingOptions): Promise<RowsTrainedModel> {
  const { task, target } = options;
  const params: MlpParams = { ...MLP_DEFAULTS, ...options.params };
  const pipelineOptions: PipelineOptions = { ...PIPELINE_DEFAULTS, ...options.pipeline };
  const fraction = options.holdout_fraction ?? 0.2;
  const train: { row: RawRow; y: number | string }[] = [];
  const held: { row: RawRow; y: number | string }[] = [];
  let skipped = 0;
  options.rows.forEach((row, i) => {
    const field = `rows.${i}.${target}`;
    const y =
      task === 'regression' ? rawNumber('numeric', row[target], field) : rawCategory('categorical', row[target], field);
    if (y === '' || Number.isNaN(y)) return void skipped++;
    (isHeldOut(options.rowId?.(row, i) ?? String(i), fraction) ? held : train).push({ row, y });
  });
  if (train.length < MIN_ROWS)
    throw new TrainingRefused(`${train.length} training rows have a ${target}; at least ${MIN_ROWS} are needed`);

  const classes = task === 'regression' ? undefined : [...new Set(train.map((r) => r.y as string))].sort();
  if (classes) {
    if (task === 'binary' && classes.length !== 2)
      throw new TrainingRefused(
        `a binary target has two classes; ${target} has ${classes.length} in the training rows`,
      );
    if (classes.length < 2 || classes.length > MAX_CLASSES)
      throw new TrainingRefused(
        `${target} has ${classes.length} classes in the training rows; 2 to ${MAX_CLASSES} are accepted`,
      );
  }
  // a held-out class never seen in training cannot be predicted: those rows are skipped too
  const heldKnown = classes ? held.filter((r) => classes.includes(r.y as string)) : held;
  skipped += held.length - heldKnown.length;
  if (heldKnown.length === 0) throw new TrainingRefused('no row is held out to evaluate on');
  const targetOf = (y: number | string) => (classes ? classes.indexOf(y as string) : (y as number));

  const started = performance.now();
  const pipeline = fitPipeline(
    options.features,
    train.map((r) => r.row),
    pipelineOptions,
  );
  const width = pipelineWidth(pipeline);
  const model = await trainMlp(
    {
      X: transformRows(
        pipeline,
        train.map((r) => r.row),
      ),
      rows: train.length,
      width,
      target: Float64Array.from(train, (r) => targetOf(r.y)),
    },
    task,
    classes?.length ?? 1,
    params,
    options.progress ?? (async () => {}),
  );
  const training_ms = Math.round(performance.now() - started);

  const heldRows = heldKnown.map((r) => r.row);
  const actual = Float64Array.from(heldKnown, (r) => targetOf(r.y));
  const inProcess = predictRows({ model, pipeline }, heldRows);
  const columns = pipelineColumns(pipeline);
  const onnx = exportMlpOnnx(model, { pipeline, classes, meta: { ...options.meta, columns } });
  const fromOnnx = await onnxPredict(onnx, pipeline, heldRows);
  const agreement = compare(inProcess, fromOnnx, classes);
  if (agreement.label_mismatches > 0 || agreement.out_of_tolerance > 0)
    throw new Error(
      `the ONNX model disagrees with the in-process model on the held-out rows: max |diff| ${agreement.max_abs_diff}, ${agreement.label_mismatches} labels differ`,
    );

  let metrics: RowsTrainedModel['metrics'];
  let baseline: RowsTrainedModel['baseline'];
  if (task === 'regression') {
    metrics = regressionMetrics(actual, inProcess);
    baseline = meanBaseline(actual, train.reduce((s, r) => s + (r.y as number), 0) / train.length);
  } else {
    const frequencies = classes!.map((c) => train.filter((r) => r.y === c).length / train.length);
    if (task === 'binary') {
      const positive = Float64Array.from(heldRows, (_, i) => inProcess[2 * i + 1]!);
      metrics = binaryMetrics(actual, positive);
      baseline = majorityBaseline(actual, frequencies[1]!);
    } else {
      metrics = multiclassMetrics(actual, inProcess, classes!.length);
      baseline = majorityClassBaseline(actual, frequencies);
    }
  }
  const trained = {
    task,
    model,
    pipeline,
    ...(classes ? { classes } : {}),
    onnx,
    metrics,
    baseline,
    agreement: {
      rows: agreement.rows,
      max_abs_diff: agreement.max_abs_diff,
      label_mismatches: agreement.label_mismatches,
    },
    train_rows: train.length,
    holdout_rows: heldKnown.length,
    skipped_rows: skipped,
    training_ms,
  };
  return { ...trained, manifest: manifestOf(trained, options, params, columns) };
}

/** Every held-out row: the largest difference, the values out of tolerance and the labels that differ beyond a near tie. */
function compare(inProcess: Float64Array, fromOnnx: PipelineOutputs, classes?: string[]) {
  let maxDiff = 0;
  let outOfTolerance = 0;
  let mismatches = 0;
  const values = fromOnnx.prediction ?? fromOnnx.probabilities!;
  for (let i = 0; i < inProcess.length; i++) {
    const diff = Math.abs(values[i]! - inProcess[i]!);
    maxDiff = Math.max(maxDiff, diff);
    if (!withinTolerance(diff, inProcess[i]!)) outOfTolerance++;
  }
  const rows = classes ? inProcess.length / classes.length : inProcess.length;
  if (classes) {
    const k = classes.length;
    for (let r = 0; r < rows; r++) {
      const predicted = argMax(inProcess, r, k);
      if (fromOnnx.labels![r] === classes[predicted]) continue;
      // two classes within the tolerance of each other may come out either way in float32
      const other = classes.indexOf(fromOnnx.labels![r]!);
      if (other < 0 || inProcess[r * k + predicted]! - inProcess[r * k + other]! > 2 * AGREEMENT_TOLERANCE)
        mismatches++;
    }
  }
  return { rows, max_abs_diff: maxDiff, out_of_tolerance: outOfTolerance, label_mismatches: mismatches };
}

function manifestOf(
  trained: Omit<RowsTrainedModel, 'manifest'>,
  options: RowsTrainingOptions,
  params: MlpParams,
  columns: string[],
) {
  return {
    kind: 'tabular-mlp' as const,
    algorithm: 'mlp' as const,
    task: trained.task,
    target: options.target,
    features: options.features,
    pipeline: trained.pipeline,
    columns,
    ...(trained.classes ? { classes: trained.classes } : {}),
    inputs: trained.pipeline.features.map((f) => ({
      name: f.name,
      type: 'fill' in f ? 'float [N, 1]' : 'string [N, 1]',
      description:
        f.kind === 'timestamp'
          ? 'days since 1970-01-01 UTC; NaN when missing'
          : 'fill' in f
            ? 'NaN when missing'
            : f.kind === 'boolean'
              ? '"true", "false", or "" when missing'
              : '"" when missing',
    })),
    outputs:
      trained.task === 'regression'
        ? [{ name: 'prediction', type: 'float [N, 1]', description: options.target }]
        : [
            { name: 'label', type: 'string [N]', description: 'the most probable class' },
            {
              name: 'probabilities',
              type: `float [N, ${trained.classes!.length}]`,
              description: 'per class, in the order of classes',
            },
          ],
    params,
    metrics: {
      holdout: trained.metrics,
      baseline: trained.baseline,
      onnx_agreement: trained.agreement,
      training_ms: trained.training_ms,
      train_rows: trained.train_rows,
      holdout_rows: trained.holdout_rows,
      skipped_rows: trained.skipped_rows,
      epochs: trained.model.epochs,
      best_epoch: trained.model.best_epoch,
    },
  };
}
