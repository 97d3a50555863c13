/**
 * The tabular models without services: metrics on cases worked by hand, and the ONNX graphs
 * against the in-process models on synthetic data, edge cases included (a constant column, an
 * unseen category's -1, rows exactly on a threshold, trees that are a single leaf).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALGORITHMS, parseParams, predictInProcess } from './algorithms.ts';
import { GBDT_DEFAULTS, trainGbdt } from './gbdt.ts';
import { LOGISTIC_DEFAULTS, trainLogistic } from './logistic.ts';
import type { Matrix } from './matrix.ts';
import { auc, binaryMetrics } from './evaluation.ts';
import { exportTabularOnnx, type TabularModel } from './onnx.ts';
import { onnxProbabilities } from './train.ts';

const quiet = async () => {};

function synthetic(rows: number, seed = 1): Matrix {
  let s = seed;
  const next = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const width = 4;
  const X = new Float32Array(rows * width);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    X[i * width] = Math.floor(next() * 24); // integer-valued: many rows sit exactly on a threshold
    X[i * width + 1] = next() * 3 - 1.5;
    X[i * width + 2] = 7; // constant
    X[i * width + 3] = Math.floor(next() * 5) - 1; // an ordinal category, -1 for unseen
    const score = -2 + 0.15 * X[i * width]! - 0.8 * X[i * width + 1]! + 0.4 * X[i * width + 3]!;
    y[i] = next() < 1 / (1 + Math.exp(-score)) ? 1 : 0;
  }
  return { X, y, rows, width };
}

async function assertAgreement(model: TabularModel, data: Matrix): Promise<void> {
  const inProcess = predictInProcess(model, data.X, data.width);
  const onnx = await onnxProbabilities(
    exportTabularOnnx(model, data.width, { id: 'unit', version: '1', columns: ['a', 'b', 'c', 'd'] }),
    data,
  );
  for (let i = 0; i < data.rows; i++) {
    assert.ok(
      Math.abs(onnx.probabilities[i]! - inProcess[i]!) < 1e-5,
      `row ${i}: ${onnx.probabilities[i]} vs ${inProcess[i]}`,
    );
    assert.equal(Number(onnx.labels[i]), inProcess[i]! > 0.5 ? 1 : 0, `row ${i} label`);
  }
}

describe('metrics', () => {
  it('AUC by ranks, ties sharing their rank; 0.5 with one class', () => {
    assert.equal(auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]), 1);
    assert.equal(auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]), 0);
    assert.equal(auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]), 0.5);
    assert.equal(auc([0, 1, 1], [0.2, 0.2, 0.9]), 0.75);
    assert.equal(auc([1, 1], [0.2, 0.9]), 0.5);
  });

  it('accuracy, log-loss and calibration error', () => {
    const m = binaryMetrics([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.4]);
    assert.equal(m.accuracy, 0.75);
    assert.ok(Math.abs(m.log_loss - -(Math.log(0.9) + Math.log(0.8) + Math.log(0.4) + Math.log(0.6)) / 4) < 1e-12);
    // bins: 0.9 -> |0.9 - 1|; 0.2 -> |0.2 - 0|; 0.4, 0.4 -> |0.8 - 1|
    assert.ok(Math.abs(m.calibration_error - (0.1 + 0.2 + 0.2) / 4) < 1e-12);
  });
});

describe('ONNX graphs decide as the in-process models', () => {
  const data = synthetic(5000);

  it('logistic regression: LinearClassifier; the coefficients come back', async () => {
    const model = await trainLogistic(data, LOGISTIC_DEFAULTS, quiet);
    assert.ok(
      Math.abs(model.coefficients[0]! - 0.15) < 0.03 && Math.abs(model.coefficients[1]! + 0.8) < 0.1,
      JSON.stringify(model.coefficients),
    );
    await assertAgreement(model, data);
  });

  it('gradient boosting: TreeEnsembleClassifier, rows on thresholds and the constant column included', async () => {
    const model = await trainGbdt(data, { ...GBDT_DEFAULTS, trees: 30, max_depth: 5 }, quiet);
    assert.ok(
      model.trees.every((t) => t.every((n) => !('feature' in n) || n.feature !== 2)),
      'never splits on the constant column',
    );
    await assertAgreement(model, data);
  });

  it('multilayer perceptron (the mlp algorithm): MatMul, Relu and Softmax, label 1 when P(1) > 0.5', async () => {
    const params = parseParams('mlp', { max_epochs: 15, hidden: [16] });
    assert.ok(params.success);
    const model = await ALGORITHMS.mlp.train(data, params.data, quiet);
    assert.equal(model.algorithm, 'mlp');
    assert.ok(auc(data.y, predictInProcess(model, data.X, data.width)) > 0.75);
    await assertAgreement(model, data);
  });

  it('gradient boosting whose trees are single leaves (nothing to split)', async () => {
    const model = await trainGbdt(data, { ...GBDT_DEFAULTS, trees: 3, min_samples_leaf: data.rows }, quiet);
    assert.ok(model.trees.every((t) => t.length === 1));
    await assertAgreement(model, data);
  });

  it('trees whose leaf weights are all positive (ONNX Runtime treats that binary case apart)', async () => {
    const model: TabularModel = {
      algorithm: 'gradient_boosting',
      base: Math.fround(-1.2),
      trees: [
        [{ value: Math.fround(0.3) }],
        [{ feature: 0, threshold: 10, left: 1, right: 2 }, { value: Math.fround(0.1) }, { value: Math.fround(1.7) }],
      ],
    };
    await assertAgreement(model, data);
  });
});
