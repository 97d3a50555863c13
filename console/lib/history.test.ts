import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { History } from './history.ts';

describe('History', () => {
  it('keeps the newest points, oldest first', () => {
    const history = new History(2);
    for (const [t, v] of [
      [10, 1],
      [13, 2],
      [16, 0],
    ] as const)
      history.add(t, v);
    assert.deepEqual(
      [history.x, history.values],
      [
        [13, 16],
        [2, 0],
      ],
    );
  });
});
