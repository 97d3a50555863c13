import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedAnswers } from './shared-answers.ts';

/** A load that settles when told to, counting how often it ran. */
function gated() {
  let loads = 0;
  let release: (value: number) => void = () => undefined;
  const load = () => {
    loads++;
    return new Promise<number>((resolve) => (release = resolve));
  };
  return { load, release: (value: number) => release(value), loads: () => loads };
}

describe('shared answers', () => {
  it('callers of a key in flight share its one load, even with the TTL at 0', async () => {
    for (const ttl of [0, 1000]) {
      const answers = new SharedAnswers<number>({ ttlMs: ttl });
      const { load, release, loads } = gated();
      const calls = Array.from({ length: 5 }, () => answers.get('k', load));
      assert.deepEqual(
        calls.map((c) => c.source),
        ['queried', 'shared', 'shared', 'shared', 'shared'],
      );
      release(7);
      assert.deepEqual(await Promise.all(calls.map((c) => c.value)), [7, 7, 7, 7, 7]);
      assert.equal(loads(), 1);
      assert.equal(answers.get('k', load).source, ttl === 0 ? 'queried' : 'cached', `ttl ${ttl}`);
    }
  });

  it('keeps an answer for the TTL after it settled, then loads again; a slow load never expires in flight', async () => {
    let now = 0;
    const answers = new SharedAnswers<number>({ ttlMs: 1000, maxEntries: 10, now: () => now });
    const { load, release } = gated();
    const first = answers.get('a', load);
    now = 5000; // longer than the TTL, still in flight
    assert.equal(answers.get('a', load).source, 'shared');
    release(1);
    await first.value;
    now = 5999;
    assert.equal(answers.get('a', load).source, 'cached');
    now = 6000;
    assert.equal(answers.get('a', () => Promise.resolve(2)).source, 'queried');
  });

  it('forgets a failed load at once, a load that throws included', async () => {
    const answers = new SharedAnswers<number>({ ttlMs: 60_000 });
    await assert.rejects(answers.get('b', () => Promise.reject(new Error('down'))).value, /down/);
    await assert.rejects(
      answers.get('b', () => {
        throw new Error('thrown');
      }).value,
      /thrown/,
    );
    assert.equal(answers.get('b', () => Promise.resolve(1)).source, 'queried');
  });

  it('keeps at most maxEntries settled answers, dropping the oldest, but never a load in flight', async () => {
    const answers = new SharedAnswers<string>({ ttlMs: 60_000, maxEntries: 2 });
    const { load: pending } = gated();
    answers.get('inflight', pending as () => Promise<never>);
    for (const k of ['a', 'b', 'c']) await answers.get(k, async () => k).value;
    assert.equal(answers.get('inflight', pending as () => Promise<never>).source, 'shared');
    assert.equal(answers.get('c', async () => 'c2').source, 'cached');
    assert.equal(answers.get('b', async () => 'b2').source, 'queried');
  });

  it('past the TTL serves the stale answer while one refresh runs, then the refreshed one; past the stale window it waits', async () => {
    let now = 0;
    const answers = new SharedAnswers<number>({ ttlMs: 1000, staleMs: 5000, now: () => now });
    await answers.get('s', async () => 1).value;
    now = 2500;
    const { load, release, loads } = gated();
    const stale = answers.get('s', load);
    assert.equal(stale.source, 'stale');
    assert.equal(stale.ageMs, 2500);
    assert.equal(await stale.value, 1);
    assert.equal(answers.get('s', load).source, 'stale', 'a second caller during the refresh is not a second refresh');
    assert.equal(loads(), 1);
    release(2);
    await new Promise((resolve) => setImmediate(resolve));
    const fresh = answers.get('s', load);
    assert.deepEqual([fresh.source, await fresh.value, fresh.ageMs], ['cached', 2, 0]);
    now = 2500 + 6000; // past TTL and stale window of the refreshed answer
    assert.equal(answers.get('s', async () => 3).source, 'queried');
  });

  it('a failed refresh keeps the stale answer until it ages out, and the next caller retries', async () => {
    let now = 0;
    const answers = new SharedAnswers<number>({ ttlMs: 1000, staleMs: 5000, now: () => now });
    await answers.get('f', async () => 1).value;
    now = 2000;
    let refreshes = 0;
    const failing = () => {
      refreshes++;
      return Promise.reject(new Error('busy'));
    };
    assert.equal(await answers.get('f', failing).value, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await answers.get('f', failing).value, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(refreshes, 2);
    now = 6000;
    await assert.rejects(answers.get('f', failing).value, /busy/);
  });

  it('bounds the weight of settled answers, least recently used out first', async () => {
    const answers = new SharedAnswers<string>({ ttlMs: 60_000, maxWeight: 10, weigh: (v) => v.length });
    for (const k of ['aaaa', 'bbbb']) await answers.get(k, async () => k).value;
    assert.equal(answers.get('aaaa', async () => 'x').source, 'cached'); // aaaa now used last
    await answers.get('cccc', async () => 'cccc').value; // 12 > 10: bbbb goes
    assert.equal(answers.get('aaaa', async () => 'x').source, 'cached');
    assert.equal(answers.get('cccc', async () => 'x').source, 'cached');
    assert.equal(answers.get('bbbb', async () => 'bbbb').source, 'queried');
  });
});
