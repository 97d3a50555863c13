/**
 * L2-regularised logistic regression fitted by Newton's method (iteratively reweighted least
 * squares) on standardised columns; the result is folded back to the raw columns, so the model
 * (and its ONNX LinearClassifier) takes encoded rows as they are. A few dozen columns make the
 * Hessian tiny, and Newton converges in a handful of passes, deterministically.
 */
import type { Matrix, Progress } from './matrix.ts';
import { yieldToEventLoop } from './matrix.ts';

export interface LogisticParams {
  /** Penalty on the mean log-loss: l2/2 * |w|^2 over standardised columns (the intercept is free). */
  l2: number;
  max_iterations: number;
  /** Stop when no standardised weight moves more than this. */
  tolerance: number;
}

export const LOGISTIC_DEFAULTS: LogisticParams = { l2: 1e-4, max_iterations: 30, tolerance: 1e-6 };

export interface LogisticModel {
  algorithm: 'logistic_regression';
  /** float32 values, as the ONNX graph holds them. */
  coefficients: number[];
  intercept: number;
  iterations: number;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export async function trainLogistic(data: Matrix, params: LogisticParams, progress: Progress): Promise<LogisticModel> {
  const { X, y, rows: n, width: d } = data;
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += X[i * d + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) scale[j]! += (X[i * d + j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]!) || 1;

  // w[0] is the intercept, w[1 + j] the weight of standardised column j
  const k = d + 1;
  const w = new Float64Array(k);
  const z = new Float64Array(k);
  z[0] = 1;
  let iterations = 0;
  for (; iterations < params.max_iterations; iterations++) {
    const gradient = new Float64Array(k);
    const hessian = new Float64Array(k * k);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) z[j + 1] = (X[i * d + j]! - mean[j]!) / scale[j]!;
      let s = 0;
      for (let a = 0; a < k; a++) s += w[a]! * z[a]!;
      const p = sigmoid(s);
      const r = p - y[i]!;
      const h = Math.max(p * (1 - p), 1e-12);
      loss -= y[i] === 1 ? Math.log(Math.max(p, 1e-15)) : Math.log(Math.max(1 - p, 1e-15));
      for (let a = 0; a < k; a++) {
        gradient[a]! += (r * z[a]!) / n;
        const hz = (h * z[a]!) / n;
        for (let b = 0; b <= a; b++) hessian[a * k + b]! += hz * z[b]!;
      }
    }
    for (let a = 1; a < k; a++) {
      gradient[a]! += params.l2 * w[a]!;
      hessian[a * k + a]! += params.l2;
    }
    for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) hessian[b * k + a] = hessian[a * k + b]!;
    const step = solveSymmetric(hessian, gradient, k);
    let moved = 0;
    for (let a = 0; a < k; a++) {
      w[a]! -= step[a]!;
      moved = Math.max(moved, Math.abs(step[a]!));
    }
    await progress({ step: iterations + 1, of: params.max_iterations, train_log_loss: loss / n });
    await yieldToEventLoop();
    if (moved < params.tolerance) {
      iterations++;
      break;
    }
  }
  const coefficients = Array.from({ length: d }, (_, j) => Math.fround(w[j + 1]! / scale[j]!));
  const intercept = Math.fround(w[0]! - coefficients.reduce((sum, c, j) => sum + c * mean[j]!, 0));
  return { algorithm: 'logistic_regression', coefficients, intercept, iterations };
}

export function predictLogistic(model: LogisticModel, X: Float32Array, width: number): Float64Array {
  const n = X.length / width;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = model.intercept;
    for (let j = 0; j < width; j++) s += model.coefficients[j]! * X[i * width + j]!;
    out[i] = sigmoid(s);
  }
  return out;
}

/** Solves A x = b for a symmetric positive definite A (Cholesky); A is k x k, row-major. */
function solveSymmetric(A: Float64Array, b: Float64Array, k: number): Float64Array {
  const L = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = A[i * k + j]!;
      for (let m = 0; m < j; m++) sum -= L[i * k + m]! * L[j * k + m]!;
      // a column constant on every training row has no curvature: a tiny ridge keeps it solvable
      L[i * k + j] = i === j ? Math.sqrt(Math.max(sum, 1e-10)) : sum / L[j * k + j]!;
    }
  }
  const x = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let sum = b[i]!;
    for (let m = 0; m < i; m++) sum -= L[i * k + m]! * x[m]!;
    x[i] = sum / L[i * k + i]!;
  }
  for (let i = k - 1; i >= 0; i--) {
    let sum = x[i]!;
    for (let m = i + 1; m < k; m++) sum -= L[m * k + i]! * x[m]!;
    x[i] = sum / L[i * k + i]!;
  }
  return x;
}
