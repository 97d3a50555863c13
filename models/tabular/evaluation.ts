/** Model metrics: binary classification (probabilities against 0/1 labels), multi-class and regression, with their baselines. */

export interface BinaryMetrics {
  rows: number;
  positive_rate: number;
  accuracy: number;
  auc: number;
  log_loss: number;
  /** Expected calibration error over 10 equal-width probability bins. */
  calibration_error: number;
}

const EPSILON = 1e-15;

export function binaryMetrics(labels: ArrayLike<number>, probabilities: ArrayLike<number>): BinaryMetrics {
  const n = labels.length;
  let positives = 0;
  let correct = 0;
  let loss = 0;
  const bins = Array.from({ length: 10 }, () => ({ count: 0, predicted: 0, observed: 0 }));
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const p = probabilities[i]!;
    positives += y;
    if ((p >= 0.5 ? 1 : 0) === y) correct++;
    const clipped = Math.min(1 - EPSILON, Math.max(EPSILON, p));
    loss -= y * Math.log(clipped) + (1 - y) * Math.log(1 - clipped);
    const bin = bins[Math.min(9, Math.floor(p * 10))]!;
    bin.count++;
    bin.predicted += p;
    bin.observed += y;
  }
  const calibration = bins.reduce((sum, b) => sum + (b.count === 0 ? 0 : Math.abs(b.predicted - b.observed)), 0);
  return {
    rows: n,
    positive_rate: n > 0 ? positives / n : 0,
    accuracy: n > 0 ? correct / n : 0,
    auc: auc(labels, probabilities),
    log_loss: n > 0 ? loss / n : 0,
    calibration_error: n > 0 ? calibration / n : 0,
  };
}

/** Area under the ROC curve by ranks (Mann-Whitney), ties sharing their mean rank; 0.5 with one class. */
export function auc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const meanRank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        rankSum += meanRank;
      }
    }
    start = end + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return 0.5;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** What always predicting the majority class (at the training base rate) scores on the same rows. */
export function majorityBaseline(labels: ArrayLike<number>, trainingPositiveRate: number): BinaryMetrics {
  return binaryMetrics(
    labels,
    Array.from({ length: labels.length }, () => trainingPositiveRate),
  );
}

/** Regression metrics of predictions against the true values. */
export interface RegressionMetrics {
  rows: number;
  mae: number;
  rmse: number;
  /** 1 - SSE / SST around the held-out rows' own mean: 0 for that mean, negative for worse. */
  r2: number;
}

export function regressionMetrics(actual: ArrayLike<number>, predicted: ArrayLike<number>): RegressionMetrics {
  const n = actual.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += actual[i]! / n;
  let absolute = 0;
  let squared = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const error = predicted[i]! - actual[i]!;
    absolute += Math.abs(error);
    squared += error * error;
    total += (actual[i]! - mean) ** 2;
  }
  return {
    rows: n,
    mae: n > 0 ? absolute / n : 0,
    rmse: n > 0 ? Math.sqrt(squared / n) : 0,
    r2: total > 0 ? 1 - squared / total : 0,
  };
}

/** What always predicting the training mean scores on the same rows. */
export function meanBaseline(actual: ArrayLike<number>, trainingMean: number): RegressionMetrics {
  return regressionMetrics(
    actual,
    Array.from({ length: actual.length }, () => trainingMean),
  );
}

/** Multi-class metrics of class probabilities (rows x classes, row-major) against class indices. */
export interface MulticlassMetrics {
  rows: number;
  classes: number;
  accuracy: number;
  /** The unweighted mean over classes of F1; a class never predicted nor present counts 0. */
  macro_f1: number;
  log_loss: number;
}

/** The predicted class: the most probable, the first of equals (as ONNX ArgMax picks). */
export function argMax(probabilities: ArrayLike<number>, row: number, classes: number): number {
  let best = 0;
  for (let k = 1; k < classes; k++)
    if (probabilities[row * classes + k]! > probabilities[row * classes + best]!) best = k;
  return best;
}

export function multiclassMetrics(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  classes: number,
): MulticlassMetrics {
  const n = labels.length;
  const truePositives = new Float64Array(classes);
  const predictedCounts = new Float64Array(classes);
  const actualCounts = new Float64Array(classes);
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const predicted = argMax(probabilities, i, classes);
    predictedCounts[predicted]!++;
    actualCounts[y]!++;
    if (predicted === y) {
      correct++;
      truePositives[y]!++;
    }
    loss -= Math.log(Math.min(1 - EPSILON, Math.max(EPSILON, probabilities[i * classes + y]!)));
  }
  let f1 = 0;
  for (let k = 0; k < classes; k++) {
    const denominator = predictedCounts[k]! + actualCounts[k]!;
    f1 += denominator > 0 ? (2 * truePositives[k]!) / denominator : 0;
  }
  return {
    rows: n,
    classes,
    accuracy: n > 0 ? correct / n : 0,
    macro_f1: classes > 0 ? f1 / classes : 0,
    log_loss: n > 0 ? loss / n : 0,
  };
}

/** What always predicting the training class frequencies (so the most frequent class) scores on the same rows. */
export function majorityClassBaseline(labels: ArrayLike<number>, trainingFrequencies: number[]): MulticlassMetrics {
  const classes = trainingFrequencies.length;
  const probabilities = new Float64Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) probabilities.set(trainingFrequencies, i * classes);
  return multiclassMetrics(labels, probabilities, classes);
}
