/**
 * Histogram-based gradient boosting of depth-limited regression trees on the log-loss (the
 * LightGBM / scikit-learn HistGradientBoosting recipe, small): each column is cut into at most
 * `bins` quantile bins once; each tree grows depth-first, choosing at every node the (column,
 * bin) split with the largest second-order gain from per-bin sums of gradients and hessians.
 * Thresholds are data values held as float32 and a row goes left when `x <= threshold`, which is
 * what ONNX TreeEnsembleClassifier's BRANCH_LEQ does with the same float32 numbers.
 */
import type { Matrix, Progress } from './matrix.ts';
import { yieldToEventLoop } from './matrix.ts';

export interface GbdtParams {
  trees: number;
  max_depth: number;
  learning_rate: number;
  min_samples_leaf: number;
  /** L2 penalty on leaf values. */
  l2: number;
  bins: number;
}

export const GBDT_DEFAULTS: GbdtParams = {
  trees: 100,
  max_depth: 4,
  learning_rate: 0.1,
  min_samples_leaf: 20,
  l2: 1,
  bins: 64,
};

export type TreeNode = { feature: number; threshold: number; left: number; right: number } | { value: number };

export interface GbdtModel {
  algorithm: 'gradient_boosting';
  /** Log-odds every row starts from (the training base rate), float32. */
  base: number;
  /** Node 0 is each tree's root; leaf values already include the learning rate, float32. */
  trees: TreeNode[][];
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Per column, the ascending float32 cut points: bin b holds values in (cuts[b-1], cuts[b]]. */
function cutPoints(data: Matrix, column: number, bins: number): Float32Array {
  const values = new Float32Array(data.rows);
  for (let i = 0; i < data.rows; i++) values[i] = data.X[i * data.width + column]!;
  values.sort();
  const distinct: number[] = [];
  for (let i = 0; i < values.length; i++) if (i === 0 || values[i] !== values[i - 1]) distinct.push(values[i]!);
  if (distinct.length <= bins) return Float32Array.from(distinct.slice(0, -1));
  const cuts = new Set<number>();
  for (let b = 1; b < bins; b++) cuts.add(values[Math.floor((b * values.length) / bins) - 1]!);
  cuts.delete(distinct.at(-1)!); // a cut at the maximum splits nothing off
  return Float32Array.from([...cuts].sort((a, b) => a - b));
}

function binOf(cuts: Float32Array, x: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x <= cuts[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export async function trainGbdt(data: Matrix, params: GbdtParams, progress: Progress): Promise<GbdtModel> {
  const { rows: n, width: d, X, y } = data;
  if (params.bins > 256) throw new Error('bins must be at most 256');
  const cuts = Array.from({ length: d }, (_, j) => cutPoints(data, j, params.bins));
  const binned = cuts.map((c, j) => {
    const column = new Uint8Array(n);
    for (let i = 0; i < n; i++) column[i] = binOf(c, X[i * d + j]!);
    return column;
  });
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i]!;
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, positives / n));
  const base = Math.fround(Math.log(rate / (1 - rate)));
  const score = new Float64Array(n).fill(base);
  const gradient = new Float64Array(n);
  const hessian = new Float64Array(n);
  const trees: TreeNode[][] = [];
  const maxBins = Math.max(1, ...cuts.map((c) => c.length + 1));
  const histG = new Float64Array(maxBins);
  const histH = new Float64Array(maxBins);
  const histN = new Uint32Array(maxBins);

  const grow = (nodes: TreeNode[], rows: Uint32Array, depth: number): number => {
    let G = 0;
    let H = 0;
    for (const i of rows) {
      G += gradient[i]!;
      H += hessian[i]!;
    }
    const at = nodes.length;
    const leaf = () => {
      const value = Math.fround((-params.learning_rate * G) / (H + params.l2));
      nodes[at] = { value };
      for (const i of rows) score[i]! += value;
      return at;
    };
    nodes.push({ value: 0 }); // reserved, filled below
    if (depth >= params.max_depth || rows.length < 2 * params.min_samples_leaf) return leaf();
    const parentGain = (G * G) / (H + params.l2);
    let best = { gain: 1e-9, feature: -1, bin: -1 };
    for (let j = 0; j < d; j++) {
      const bins = cuts[j]!.length + 1;
      if (bins < 2) continue;
      histG.fill(0, 0, bins);
      histH.fill(0, 0, bins);
      histN.fill(0, 0, bins);
      const column = binned[j]!;
      for (const i of rows) {
        const b = column[i]!;
        histG[b]! += gradient[i]!;
        histH[b]! += hessian[i]!;
        histN[b]!++;
      }
      let gl = 0;
      let hl = 0;
      let nl = 0;
      for (let b = 0; b < bins - 1; b++) {
        gl += histG[b]!;
        hl += histH[b]!;
        nl += histN[b]!;
        if (nl < params.min_samples_leaf) continue;
        if (rows.length - nl < params.min_samples_leaf) break;
        const gain = (gl * gl) / (hl + params.l2) + ((G - gl) * (G - gl)) / (H - hl + params.l2) - parentGain;
        if (gain > best.gain) best = { gain, feature: j, bin: b };
      }
    }
    if (best.feature < 0) return leaf();
    const column = binned[best.feature]!;
    let leftCount = 0;
    for (const i of rows) if (column[i]! <= best.bin) leftCount++;
    const left = new Uint32Array(leftCount);
    const right = new Uint32Array(rows.length - leftCount);
    let l = 0;
    let r = 0;
    for (const i of rows) {
      if (column[i]! <= best.bin) left[l++] = i;
      else right[r++] = i;
    }
    const leftNode = grow(nodes, left, depth + 1);
    const rightNode = grow(nodes, right, depth + 1);
    nodes[at] = { feature: best.feature, threshold: cuts[best.feature]![best.bin]!, left: leftNode, right: rightNode };
    return at;
  };

  const all = Uint32Array.from({ length: n }, (_, i) => i);
  for (let t = 0; t < params.trees; t++) {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(score[i]!);
      gradient[i] = p - y[i]!;
      hessian[i] = Math.max(p * (1 - p), 1e-12);
      loss -= y[i] === 1 ? Math.log(Math.max(p, 1e-15)) : Math.log(Math.max(1 - p, 1e-15));
    }
    const nodes: TreeNode[] = [];
    grow(nodes, all, 0);
    trees.push(nodes);
    await progress({ step: t + 1, of: params.trees, train_log_loss: loss / n });
    await yieldToEventLoop();
  }
  return { algorithm: 'gradient_boosting', base, trees };
}

export function predictGbdt(model: GbdtModel, X: Float32Array, width: number): Float64Array {
  const n = X.length / width;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = model.base;
    for (const nodes of model.trees) {
      let node = nodes[0]!;
      while (!('value' in node)) node = nodes[X[i * width + node.feature]! <= node.threshold ? node.left : node.right]!;
      s += node.value;
    }
    out[i] = sigmoid(s);
  }
  return out;
}
