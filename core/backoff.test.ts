/** Unit tests of core/backoff.ts: the delays (random injected, so exact) and the abortable sleep. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AbortedError, backoff, sleep } from './backoff.ts';

const fixed = (value: number) => () => value;

describe('backoff', () => {
  it('doubles from baseMs and stops at capMs without jitter', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((attempt) =>
      backoff({ attempt, baseMs: 1_000, capMs: 30_000, jitter: 'none' }),
    );
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('full jitter draws from [0, d], never below 1 ms', () => {
    assert.equal(backoff({ attempt: 3, baseMs: 100, capMs: 10_000, jitter: 'full', random: fixed(0.5) }), 200);
    assert.equal(backoff({ attempt: 3, baseMs: 100, capMs: 10_000, jitter: 'full', random: fixed(0) }), 1);
    assert.equal(backoff({ attempt: 3, baseMs: 100, capMs: 10_000, jitter: 'full', random: fixed(0.999999) }), 400);
  });

  it('equal jitter draws from [d/2, d]', () => {
    assert.equal(backoff({ attempt: 1, baseMs: 200, capMs: 30_000, jitter: 'equal', random: fixed(0) }), 100);
    assert.equal(backoff({ attempt: 1, baseMs: 200, capMs: 30_000, jitter: 'equal', random: fixed(0.5) }), 150);
    assert.equal(backoff({ attempt: 2, baseMs: 200, capMs: 30_000, jitter: 'equal', random: fixed(0.999999) }), 400);
  });

  it('the cap holds with jitter, and a huge attempt neither overflows nor gives NaN', () => {
    for (const jitter of ['full', 'equal', 'none'] as const) {
      const delay = backoff({ attempt: 10_000, baseMs: 250, capMs: 10_000, jitter, random: fixed(0.999999) });
      assert.ok(delay <= 10_000 && delay >= 9_999, `${jitter}: ${delay}`);
    }
  });

  it('treats attempt 0 or below as the first', () => {
    assert.equal(backoff({ attempt: 0, baseMs: 500, capMs: 30_000, jitter: 'none' }), 500);
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    const started = performance.now();
    await sleep(20);
    assert.ok(performance.now() - started >= 15);
  });

  it('rejects with AbortedError when the signal aborts, at once when it already has', async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    await assert.rejects(waiting, AbortedError);
    await assert.rejects(sleep(60_000, controller.signal), AbortedError);
  });
});
