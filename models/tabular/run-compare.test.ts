import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareRuns } from './run-compare.ts';

describe('compareRuns', () => {
  it('lists every parameter of either run, marking those that changed (arrays by value)', () => {
    const { params, changed } = compareRuns(
      { params: { trees: 40, max_depth: 4, hidden: [16, 8] }, metrics: {} },
      { params: { trees: 100, max_depth: 4, hidden: [16, 8], l2: 1 }, metrics: {} },
    );
    assert.deepEqual(changed, ['l2', 'trees']);
    assert.deepEqual(params, [
      { name: 'hidden', a: [16, 8], b: [16, 8], changed: false },
      { name: 'l2', a: null, b: 1, changed: true },
      { name: 'max_depth', a: 4, b: 4, changed: false },
      { name: 'trees', a: 40, b: 100, changed: true },
    ]);
  });

  it('gives each metric both have its delta (b - a) and the run it favours by its direction', () => {
    const { metrics } = compareRuns(
      { params: {}, metrics: { rows: 1600, accuracy: 0.7, auc: 0.8, log_loss: 0.5, rmse: 2, only_a: 1 } },
      { params: {}, metrics: { rows: 1600, accuracy: 0.75, auc: 0.78, log_loss: 0.45, rmse: 2 } },
    );
    const byName = Object.fromEntries(metrics.map((m) => [m.name, m]));
    assert.deepEqual(Object.keys(byName), ['rows', 'accuracy', 'auc', 'log_loss', 'rmse']);
    assert.equal(byName.accuracy!.better, 'b');
    assert.ok(Math.abs(byName.accuracy!.delta - 0.05) < 1e-12);
    assert.equal(byName.auc!.better, 'a');
    assert.equal(byName.log_loss!.better, 'b', 'lower log-loss is better');
    assert.ok(byName.log_loss!.delta < 0);
    assert.equal(byName.rmse!.better, null, 'equal');
    assert.equal(byName.rows!.better, null, 'a count favours neither');
  });
});
