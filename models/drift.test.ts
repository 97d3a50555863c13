import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { psi } from './drift.ts';

describe('population stability index', () => {
  it('is 0 for the same distribution, whatever the counts', () => {
    assert.equal(psi([10, 20, 30, 40, 0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 0, 0, 0, 0, 0, 0]), 0);
  });

  it('grows as the scores move to other bins, and stays finite for an empty bin', () => {
    const base = [0, 0, 0, 0, 50, 50, 0, 0, 0, 0];
    const shift = psi(base, [0, 0, 0, 0, 40, 50, 10, 0, 0, 0]);
    const drift = psi(base, [0, 0, 0, 0, 0, 10, 40, 50, 0, 0]);
    assert.ok(shift > 0 && shift < drift, `${shift} < ${drift}`);
    assert.ok(Number.isFinite(drift) && drift > 0.25);
  });

  it('matches the formula on a hand-worked case', () => {
    // two bins 50/50 -> 25/75: (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5)
    const expected = -0.25 * Math.log(0.5) + 0.25 * Math.log(1.5);
    const got = psi([50, 50, 0, 0, 0, 0, 0, 0, 0, 0], [25, 75, 0, 0, 0, 0, 0, 0, 0, 0]);
    // the eight empty bins add (1e-4 - 1e-4) * ln(1) = 0
    assert.ok(Math.abs(got - expected) < 1e-12, `${got} vs ${expected}`);
  });
});
