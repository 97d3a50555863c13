import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { once } from './once.ts';

describe('once', () => {
  it('runs on the first call only, concurrent and later calls sharing its result', async () => {
    let runs = 0;
    const stop = once(async () => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return runs;
    });
    assert.deepEqual(await Promise.all([stop(), stop()]), [1, 1]);
    assert.equal(await stop(), 1);
    assert.equal(runs, 1);
  });

  it('keeps a failure: a later call gets the same rejection, not a second run', async () => {
    let runs = 0;
    const stop = once(async () => {
      runs++;
      throw new Error('disconnect failed');
    });
    await assert.rejects(stop(), /disconnect failed/);
    await assert.rejects(stop(), /disconnect failed/);
    assert.equal(runs, 1);
  });
});
