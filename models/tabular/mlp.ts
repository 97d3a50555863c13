/**
 * A multilayer perceptron (ReLU hidden layers) for binary and multi-class classification (softmax
 * over the classes, cross-entropy) and regression (identity output, squared error on the target
 * standardised here, undone at the output). Mini-batch Adam with an L2 penalty on the weights;
 * early stopping on a validation part of the training rows, keeping the weights of the epoch
 * with the lowest validation loss. Everything random (initial weights, the validation part, the
 * batch order) draws from one seeded generator, so a seed gives the same weights every time.
 *
 * The input columns are standardised for training and the standardisation is folded into the
 * first layer, so the model (and its ONNX graph, models/tabular/mlp-onnx.ts) takes the rows as
 * they are. Weights are rounded to float32 at the end: what the in-process model computes with
 * is what the graph holds.
 */
import { constantSpread, yieldToEventLoop } from './matrix.ts';

export type MlpTask = 'binary' | 'multiclass' | 'regression';

export interface MlpParams {
  /** Units of each hidden layer. */
  hidden: number[];
  learning_rate: number;
  batch_size: number;
  max_epochs: number;
  /** Epochs without a better validation loss before training stops. */
  patience: number;
  /** Penalty l2/2 * |W|^2 on the weights (not the biases), added to the mean loss. */
  l2: number;
  /** Part of the training rows set apart to decide when to stop. */
  validation_fraction: number;
  seed: number;
}

export const MLP_DEFAULTS: MlpParams = {
  hidden: [32, 16],
  learning_rate: 0.005,
  batch_size: 32,
  max_epochs: 200,
  patience: 20,
  l2: 1e-4,
  validation_fraction: 0.15,
  seed: 1,
};

export interface MlpData {
  /** rows x width, row-major. */
  X: Float32Array;
  rows: number;
  width: number;
  /** The class index (classification) or the value (regression) of each row. */
  target: Float64Array;
}

export interface DenseLayer {
  inputs: number;
  outputs: number;
  /** inputs x outputs, row-major, float32 values. */
  weights: number[];
  bias: number[];
}

export interface MlpModel {
  algorithm: 'mlp';
  task: MlpTask;
  /** Output units: the classes, or 1 for regression. */
  outputs: number;
  layers: DenseLayer[];
  /** Regression: the output is `network * std + mean` (float32). */
  target?: { mean: number; std: number };
  epochs: number;
  best_epoch: number;
  validation_loss: number;
}

export type MlpProgress = (report: {
  step: number;
  of: number;
  train_loss: number;
  validation_loss: number;
}) => Promise<void>;

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(order: Int32Array, random: () => number): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
}

interface Network {
  sizes: number[];
  W: Float64Array[];
  b: Float64Array[];
}

/** The buffers of a batch's forward and backward pass: per layer, activations and their loss gradients. */
class Workspace {
  readonly activations: Float64Array[];
  readonly deltas: Float64Array[];

  constructor(
    readonly net: Network,
    readonly batch: number,
  ) {
    this.activations = net.sizes.map((size) => new Float64Array(batch * size));
    this.deltas = net.sizes.map((size) => new Float64Array(batch * size));
  }

  /** Forward pass of `count` rows already in activations[0]; the last activations are the raw outputs. */
  forward(count: number): void {
    const { sizes, W, b } = this.net;
    for (let l = 0; l < W.length; l++) {
      const input = this.activations[l]!;
      const output = this.activations[l + 1]!;
      const [m, k] = [sizes[l]!, sizes[l + 1]!];
      const relu = l < W.length - 1;
      for (let r = 0; r < count; r++) {
        for (let o = 0; o < k; o++) output[r * k + o] = b[l]![o]!;
        for (let i = 0; i < m; i++) {
          const x = input[r * m + i]!;
          if (x === 0) continue;
          for (let o = 0; o < k; o++) output[r * k + o]! += x * W[l]![i * k + o]!;
        }
        if (relu) for (let o = 0; o < k; o++) if (output[r * k + o]! < 0) output[r * k + o] = 0;
      }
    }
  }

  /**
   * Backward pass of `count` rows from the output deltas in deltas[last]: the gradients of the
   * mean loss plus l2/2 * |W|^2, per layer's weights (gW[l]) and biases (gb[l]).
   */
  backward(count: number, gW: Float64Array[], gb: Float64Array[], l2: number): void {
    const { sizes, W } = this.net;
    for (let l = W.length - 1; l >= 0; l--) {
      const [m, k] = [sizes[l]!, sizes[l + 1]!];
      const input = this.activations[l]!;
      const below = this.deltas[l]!;
      const dz = this.deltas[l + 1]!;
      const [weights, gw, gbias] = [W[l]!, gW[l]!, gb[l]!];
      for (let i = 0; i < m * k; i++) gw[i] = l2 * weights[i]!;
      gbias.fill(0);
      for (let r = 0; r < count; r++) {
        for (let o = 0; o < k; o++) gbias[o]! += dz[r * k + o]!;
        for (let i = 0; i < m; i++) {
          const x = input[r * m + i]!;
          if (x === 0) {
            // a unit that was off passes no gradient on, nor gets any on its weights
            if (l > 0) below[r * m + i] = 0;
            continue;
          }
          let back = 0;
          for (let o = 0; o < k; o++) {
            gw[i * k + o]! += x * dz[r * k + o]!;
            back += weights[i * k + o]! * dz[r * k + o]!;
          }
          // the input layer needs no gradient
          if (l > 0) below[r * m + i] = back;
        }
      }
    }
  }
}

/** Adam (Kingma & Ba, 2015) over a list of parameter arrays, with bias-corrected moments. */
class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private step = 0;

  constructor(
    private readonly parameters: Float64Array[],
    private readonly rate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    this.m = parameters.map((p) => new Float64Array(p.length));
    this.v = parameters.map((p) => new Float64Array(p.length));
  }

  /** One update from `gradients`, in the order of the parameters. */
  update(gradients: Float64Array[]): void {
    const { beta1, beta2, epsilon } = this;
    this.step++;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    this.parameters.forEach((p, q) => {
      const [g, m, v] = [gradients[q]!, this.m[q]!, this.v[q]!];
      for (let i = 0; i < p.length; i++) {
        m[i] = beta1 * m[i]! + (1 - beta1) * g[i]!;
        v[i] = beta2 * v[i]! + (1 - beta2) * g[i]! * g[i]!;
        p[i]! -= (this.rate * (m[i]! / correction1)) / (Math.sqrt(v[i]! / correction2) + epsilon);
      }
    });
  }
}

/** Softmax of each row in place. */
function softmaxRows(values: Float64Array, count: number, k: number): void {
  for (let r = 0; r < count; r++) {
    let max = -Infinity;
    for (let o = 0; o < k; o++) max = Math.max(max, values[r * k + o]!);
    let sum = 0;
    for (let o = 0; o < k; o++) sum += values[r * k + o] = Math.exp(values[r * k + o]! - max);
    for (let o = 0; o < k; o++) values[r * k + o]! /= sum;
  }
}

export async function trainMlp(
  data: MlpData,
  task: MlpTask,
  classes: number,
  params: MlpParams,
  progress: MlpProgress,
): Promise<MlpModel> {
  const { X, rows, width: d } = data;
  const outputs = task === 'regression' ? 1 : classes;
  const random = seededRandom(params.seed);

  // the validation rows: a seeded draw, at least one when there are rows to spare
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  shuffle(order, random);
  const validationRows = rows >= 10 ? Math.max(1, Math.round(rows * params.validation_fraction)) : 0;
  const validation = order.slice(0, validationRows);
  const fit = order.slice(validationRows);

  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (const i of fit) for (let j = 0; j < d; j++) mean[j]! += X[i * d + j]! / fit.length;
  for (const i of fit) for (let j = 0; j < d; j++) scale[j]! += (X[i * d + j]! - mean[j]!) ** 2 / fit.length;
  // a constant column's spread is rounding noise: dividing by it would blow its weights up
  for (let j = 0; j < d; j++) scale[j] = constantSpread(Math.sqrt(scale[j]!), mean[j]!) ? 1 : Math.sqrt(scale[j]!);
  let targetMean = 0;
  let targetStd = 1;
  if (task === 'regression') {
    for (const i of fit) targetMean += data.target[i]! / fit.length;
    let variance = 0;
    for (const i of fit) variance += (data.target[i]! - targetMean) ** 2 / fit.length;
    targetStd = constantSpread(Math.sqrt(variance), targetMean) ? 1 : Math.sqrt(variance);
  }
  const targetOf = (i: number) =>
    task === 'regression' ? (data.target[i]! - targetMean) / targetStd : data.target[i]!;

  const sizes = [d, ...params.hidden, outputs];
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const net: Network = {
    sizes,
    // He initialisation for the ReLU layers
    W: sizes
      .slice(1)
      .map((k, l) => Float64Array.from({ length: sizes[l]! * k }, () => normal() * Math.sqrt(2 / sizes[l]!))),
    b: sizes.slice(1).map((k) => new Float64Array(k)),
  };
  const adam = new Adam([...net.W, ...net.b], params.learning_rate);
  const gW = net.W.map((w) => new Float64Array(w.length));
  const gb = net.b.map((b) => new Float64Array(b.length));
  const batchSize = Math.max(1, Math.min(params.batch_size, fit.length));
  const work = new Workspace(net, Math.max(batchSize, 256));
  const last = sizes.length - 1;

  const load = (index: Int32Array, from: number, count: number) => {
    const input = work.activations[0]!;
    for (let r = 0; r < count; r++) {
      const i = index[from + r]!;
      for (let j = 0; j < d; j++) input[r * d + j] = (X[i * d + j]! - mean[j]!) / scale[j]!;
    }
  };
  /** Sum of the loss of `count` rows whose outputs were just computed; turns the outputs into probabilities. */
  const lossOf = (index: Int32Array, from: number, count: number) => {
    const out = work.activations[last]!;
    let loss = 0;
    if (task === 'regression') {
      for (let r = 0; r < count; r++) loss += 0.5 * (out[r]! - targetOf(index[from + r]!)) ** 2;
    } else {
      softmaxRows(out, count, outputs);
      for (let r = 0; r < count; r++) loss -= Math.log(Math.max(out[r * outputs + targetOf(index[from + r]!)]!, 1e-15));
    }
    return loss;
  };
  const meanLoss = (index: Int32Array) => {
    let loss = 0;
    for (let from = 0; from < index.length; from += work.batch) {
      const count = Math.min(work.batch, index.length - from);
      load(index, from, count);
      work.forward(count);
      loss += lossOf(index, from, count);
    }
    return index.length > 0 ? loss / index.length : 0;
  };

  let best = { loss: Infinity, epoch: 0, W: net.W.map((w) => w.slice()), b: net.b.map((b) => b.slice()) };
  let epoch = 0;
  while (epoch < params.max_epochs) {
    epoch++;
    shuffle(fit, random);
    let trainLoss = 0;
    for (let from = 0; from < fit.length; from += batchSize) {
      const count = Math.min(batchSize, fit.length - from);
      load(fit, from, count);
      work.forward(count);
      trainLoss += lossOf(fit, from, count);
      // output deltas: d(mean loss)/d(output) for softmax cross-entropy and for squared error alike
      const out = work.activations[last]!;
      const delta = work.deltas[last]!;
      for (let r = 0; r < count; r++) {
        const y = targetOf(fit[from + r]!);
        for (let o = 0; o < outputs; o++) {
          const expected = task === 'regression' ? y : o === y ? 1 : 0;
          delta[r * outputs + o] = (out[r * outputs + o]! - expected) / count;
        }
      }
      work.backward(count, gW, gb, params.l2);
      adam.update([...gW, ...gb]);
    }
    const validationLoss = validation.length > 0 ? meanLoss(validation) : trainLoss / fit.length;
    if (validationLoss < best.loss - 1e-7) {
      best = { loss: validationLoss, epoch, W: net.W.map((w) => w.slice()), b: net.b.map((b) => b.slice()) };
    }
    await progress({
      step: epoch,
      of: params.max_epochs,
      train_loss: trainLoss / fit.length,
      validation_loss: validationLoss,
    });
    await yieldToEventLoop();
    if (epoch - best.epoch >= params.patience) break;
  }

  // fold the input standardisation into the first layer: w' = w / scale, b' = b - sum(w' * mean)
  const layers: DenseLayer[] = best.W.map((W, l) => {
    const [m, k] = [sizes[l]!, sizes[l + 1]!];
    const weights = Array.from(W, (w, at) => (l === 0 ? w / scale[Math.floor(at / k)]! : w));
    const bias = Array.from(best.b[l]!);
    if (l === 0) for (let i = 0; i < m; i++) for (let o = 0; o < k; o++) bias[o]! -= weights[i * k + o]! * mean[i]!;
    return { inputs: m, outputs: k, weights: weights.map(Math.fround), bias: bias.map(Math.fround) };
  });
  return {
    algorithm: 'mlp',
    task,
    outputs,
    layers,
    ...(task === 'regression' ? { target: { mean: Math.fround(targetMean), std: Math.fround(targetStd) } } : {}),
    epochs: epoch,
    best_epoch: best.epoch,
    validation_loss: best.loss,
  };
}

/**
 * The model's outputs for rows (rows x outputs, row-major): class probabilities, or the predicted
 * value. Float32 weights, float64 sums: within float32 rounding of ONNX Runtime's answer.
 */
export function predictMlp(model: MlpModel, X: Float32Array, width: number): Float64Array {
  const rows = X.length / width;
  let input = Float64Array.from(X);
  for (const [l, layer] of model.layers.entries()) {
    const output = new Float64Array(rows * layer.outputs);
    const k = layer.outputs;
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < k; o++) output[r * k + o] = layer.bias[o]!;
      for (let i = 0; i < layer.inputs; i++) {
        const x = input[r * layer.inputs + i]!;
        if (x === 0) continue;
        for (let o = 0; o < k; o++) output[r * k + o]! += x * layer.weights[i * k + o]!;
      }
      if (l < model.layers.length - 1) for (let o = 0; o < k; o++) output[r * k + o] = Math.max(0, output[r * k + o]!);
    }
    input = output;
  }
  if (model.target) return input.map((z) => z * model.target!.std + model.target!.mean);
  softmaxRows(input, rows, model.outputs);
  return input;
}
