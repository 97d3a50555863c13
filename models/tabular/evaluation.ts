/** Binary classification metrics of predicted positive probabilities against 0/1 labels. */

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
