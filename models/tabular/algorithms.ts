/** The training algorithms a job may name, with their parameters (validated, defaults filled in). */
import { z } from 'zod';
import { GBDT_DEFAULTS, predictGbdt, trainGbdt } from './gbdt.ts';
import type { CategoricalEncoding } from './encoding.ts';
import { LOGISTIC_DEFAULTS, predictLogistic, trainLogistic } from './logistic.ts';
import type { Matrix, Progress } from './matrix.ts';
import { MLP_DEFAULTS, predictMlp, trainMlp, type MlpParams } from './mlp.ts';
import type { TabularModel } from './onnx.ts';

const common = { max_categories: z.number().int().min(1).max(200).default(20) };

export const ALGORITHMS = {
  logistic_regression: {
    params: z
      .object({
        ...common,
        l2: z.number().min(0).max(100).default(LOGISTIC_DEFAULTS.l2),
        max_iterations: z.number().int().min(1).max(200).default(LOGISTIC_DEFAULTS.max_iterations),
        tolerance: z.number().positive().max(1).default(LOGISTIC_DEFAULTS.tolerance),
      })
      .strict(),
    encoding: 'one_hot' as CategoricalEncoding,
    train: (data: Matrix, params: Record<string, unknown>, progress: Progress): Promise<TabularModel> =>
      trainLogistic(data, params as unknown as typeof LOGISTIC_DEFAULTS, progress),
  },
  gradient_boosting: {
    params: z
      .object({
        ...common,
        trees: z.number().int().min(1).max(2000).default(GBDT_DEFAULTS.trees),
        max_depth: z.number().int().min(1).max(12).default(GBDT_DEFAULTS.max_depth),
        learning_rate: z.number().positive().max(1).default(GBDT_DEFAULTS.learning_rate),
        min_samples_leaf: z.number().int().min(1).default(GBDT_DEFAULTS.min_samples_leaf),
        l2: z.number().min(0).default(GBDT_DEFAULTS.l2),
        bins: z.number().int().min(2).max(256).default(GBDT_DEFAULTS.bins),
      })
      .strict(),
    encoding: 'ordinal' as CategoricalEncoding,
    train: (data: Matrix, params: Record<string, unknown>, progress: Progress): Promise<TabularModel> =>
      trainGbdt(data, params as unknown as typeof GBDT_DEFAULTS, progress),
  },
  mlp: {
    params: z
      .object({
        ...common,
        hidden: z.array(z.number().int().min(1).max(512)).min(1).max(4).default(MLP_DEFAULTS.hidden),
        learning_rate: z.number().positive().max(1).default(MLP_DEFAULTS.learning_rate),
        batch_size: z.number().int().min(1).max(4096).default(MLP_DEFAULTS.batch_size),
        max_epochs: z.number().int().min(1).max(1000).default(MLP_DEFAULTS.max_epochs),
        patience: z.number().int().min(1).max(1000).default(MLP_DEFAULTS.patience),
        l2: z.number().min(0).max(1).default(MLP_DEFAULTS.l2),
        validation_fraction: z.number().min(0.01).max(0.5).default(MLP_DEFAULTS.validation_fraction),
        seed: z
          .number()
          .int()
          .min(0)
          .max(2 ** 32 - 1)
          .default(MLP_DEFAULTS.seed),
      })
      .strict(),
    encoding: 'one_hot' as CategoricalEncoding,
    // the two classes 0 and 1, softmax over both: the graph's label is the class index
    train: (data: Matrix, params: Record<string, unknown>, progress: Progress): Promise<TabularModel> =>
      trainMlp(
        { X: data.X, rows: data.rows, width: data.width, target: Float64Array.from(data.y) },
        'binary',
        2,
        params as unknown as MlpParams,
        (report) => progress({ step: report.step, of: report.of, train_log_loss: report.train_loss }),
      ),
  },
} as const;

export type Algorithm = keyof typeof ALGORITHMS;
export const ALGORITHM_NAMES = Object.keys(ALGORITHMS) as [Algorithm, ...Algorithm[]];

/** The parameters with defaults filled in, or the zod error naming the one at fault. */
export function parseParams(algorithm: Algorithm, params: unknown) {
  return ALGORITHMS[algorithm].params.safeParse(params ?? {});
}

/** P(label 1) of each row. */
export function predictInProcess(model: TabularModel, X: Float32Array, width: number): Float64Array {
  if (model.algorithm === 'mlp') return predictMlp(model, X, width).filter((_, at) => at % 2 === 1);
  return model.algorithm === 'logistic_regression' ? predictLogistic(model, X, width) : predictGbdt(model, X, width);
}
