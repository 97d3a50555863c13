import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startOnce } from './start-once.ts';

describe('startOnce', () => {
  it('runs the start once for concurrent and later calls', async () => {
    let runs = 0;
    const ready = startOnce(async (n: number) => {
      runs += n;
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
    await Promise.all([ready(1), ready(1), ready(1)]);
    await ready(1);
    assert.equal(runs, 1);
  });

  it('forgets a failed start, so the next call tries again', async () => {
    let attempts = 0;
    const ready = startOnce(async () => {
      attempts++;
      if (attempts === 1) throw new Error('Postgres away');
    });
    await assert.rejects(ready(), /Postgres away/);
    await ready();
    await ready();
    assert.equal(attempts, 2);
  });
});
