/** Accuracy and macro-F1 of predictions against labels. */
export function evaluate(truth: string[], predicted: string[]): { accuracy: number; macroF1: number } {
  const labels = [...new Set(truth)];
  const accuracy = truth.filter((t, i) => t === predicted[i]).length / truth.length;
  const f1s = labels.map((label) => {
    const tp = truth.filter((t, i) => t === label && predicted[i] === label).length;
    const fp = truth.filter((t, i) => t !== label && predicted[i] === label).length;
    const fn = truth.filter((t, i) => t === label && predicted[i] !== label).length;
    return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  });
  return { accuracy, macroF1: f1s.reduce((a, b) => a + b, 0) / labels.length };
}
