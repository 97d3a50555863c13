/**
 * A linear text classifier over hashed features: softmax regression trained with Adagrad SGD and
 * L2 regularisation. Weights are a dense [dimensions x classes] matrix, row-major, the layout the
 * ONNX export gathers rows from.
 */
import { featurise, type SparseVector } from './features.ts';

export interface TextModel {
  dimensions: number;
  labels: string[];
  /** [dimensions * labels.length], row-major by bucket */
  weights: Float32Array;
  bias: Float32Array;
}

export interface TrainOptions {
  dimensions?: number;
  epochs?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
}

function softmax(z: Float64Array): Float64Array {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function scores(model: TextModel, x: SparseVector): Float64Array {
  const k = model.labels.length;
  const z = Float64Array.from(model.bias);
  for (let n = 0; n < x.indices.length; n++) {
    const row = x.indices[n]! * k;
    const v = x.values[n]!;
    for (let c = 0; c < k; c++) z[c]! += model.weights[row + c]! * v;
  }
  return z;
}

/** Deterministic shuffling (mulberry32), so a training run can be repeated exactly. */
function shuffled<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function train(examples: { text: string; label: string }[], options: TrainOptions = {}): TextModel {
  const steps = trainingSteps(examples, options);
  for (let step = steps.next(); ; step = steps.next()) if (step.done) return step.value;
}

/** Examples between two yields of trainInSteps: a few milliseconds of work. */
const STEP_EXAMPLES = 256;

/**
 * The same training as `train` (same model, bit for bit), yielding the event loop every few
 * hundred examples, so a server that trains keeps answering.
 */
export async function trainInSteps(
  examples: { text: string; label: string }[],
  options: TrainOptions = {},
): Promise<TextModel> {
  const steps = trainingSteps(examples, options);
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) return step.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function* trainingSteps(
  examples: { text: string; label: string }[],
  options: TrainOptions,
): Generator<void, TextModel, void> {
  const { dimensions = 1 << 18, epochs = 5, learningRate = 0.5, l2 = 1e-6, seed = 1 } = options;
  const labels = [...new Set(examples.map((e) => e.label))].sort();
  const k = labels.length;
  const model: TextModel = { dimensions, labels, weights: new Float32Array(dimensions * k), bias: new Float32Array(k) };
  const g2w = new Float32Array(dimensions * k); // Adagrad accumulators
  const g2b = new Float64Array(k);
  const data = examples.map((e) => ({ x: featurise(e.text, dimensions), y: labels.indexOf(e.label) }));
  let done = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const { x, y } of shuffled(data, seed + epoch)) {
      const p = softmax(scores(model, x));
      for (let c = 0; c < k; c++) {
        const g = p[c]! - (c === y ? 1 : 0);
        g2b[c]! += g * g;
        model.bias[c]! -= (learningRate * g) / Math.sqrt(g2b[c]! + 1e-8);
        for (let n = 0; n < x.indices.length; n++) {
          const at = x.indices[n]! * k + c;
          const gw = g * x.values[n]! + l2 * model.weights[at]!;
          g2w[at]! += gw * gw;
          model.weights[at]! -= (learningRate * gw) / Math.sqrt(g2w[at]! + 1e-8);
        }
      }
      if (++done % STEP_EXAMPLES === 0) yield;
    }
  }
  return model;
}

export function predict(
  model: TextModel,
  text: string,
): { label: string; confidence: number; probabilities: Float64Array } {
  const p = softmax(scores(model, featurise(text, model.dimensions)));
  let best = 0;
  for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
  return { label: model.labels[best]!, confidence: p[best]!, probabilities: p };
}
