import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { onBars, pivot, seconds } from './series.ts';

describe('pivot', () => {
  it('one series per metric, a null where a bucket has no row', () => {
    const rows = [
      { bucket: '2024-01-01T00:00:00Z', category: 'low', statements: 2, mean: 0.1 },
      { bucket: '2024-02-01T00:00:00Z', category: 'high', statements: 1, mean: 0.5 },
    ];
    assert.deepEqual(pivot(rows, ['statements', 'mean']), {
      x: [seconds('2024-01-01T00:00:00Z'), seconds('2024-02-01T00:00:00Z')],
      series: [
        { label: 'statements', metric: 'statements', values: [2, 1] },
        { label: 'mean', metric: 'mean', values: [0.1, 0.5] },
      ],
    });
    assert.deepEqual(
      pivot(rows, ['statements'], 'category').series.map((s) => [s.label, s.values]),
      [
        ['statements · low', [2, null]],
        ['statements · high', [null, 1]],
      ],
    );
  });
});

describe('onBars', () => {
  const points = [
    { date: '2024-01-01', sma: 1 },
    { date: '2024-01-03', sma: 3 },
    { date: '2024-01-09', sma: null },
    { date: '2024-01-10', sma: 10 },
  ];
  it('a day bar takes its day’s point', () => {
    assert.deepEqual(onBars(['2024-01-01', '2024-01-02', '2024-01-03'], points.slice(0, 2), 'sma'), [1, null, 3]);
  });
  it('a week bar takes its week’s last point; points before the first bar are dropped', () => {
    assert.deepEqual(onBars(['2024-01-02', '2024-01-08'], points, 'sma'), [3, 10]);
  });
});
