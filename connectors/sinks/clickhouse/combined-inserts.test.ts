/** Group commit of the ClickHouse sink's inserts: what combines, what is retried alone, the spacing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CombinedInserts } from './combined-inserts.ts';

class DataError extends Error {}

/** Records each insert's texts; refuses any insert holding `bad`. */
function recorder(bad?: string) {
  const inserts: string[][] = [];
  const insert = async (texts: string[]) => {
    inserts.push(texts);
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (bad !== undefined && texts.includes(bad)) throw new DataError(`cannot parse ${bad}`);
  };
  return { inserts, insert };
}

test('batches that arrive while an insert is in flight go together in the next one', async () => {
  const { inserts, insert } = recorder();
  const sink = new CombinedInserts(insert, (e) => e instanceof DataError, 1_000, 0);
  await Promise.all([sink.write('a', 1), sink.write('b', 1), sink.write('c', 1)]);
  assert.deepEqual(inserts, [['a'], ['b', 'c']]);
});

test('a combined insert refused for its data is retried batch by batch, and only the bad batch fails', async () => {
  const { inserts, insert } = recorder('bad');
  const sink = new CombinedInserts(insert, (e) => e instanceof DataError, 1_000, 0);
  const results = await Promise.allSettled([sink.write('a', 1), sink.write('bad', 1), sink.write('c', 1)]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(inserts, [['a'], ['bad', 'c'], ['bad'], ['c']]);
});

test('a group holds at most maxRows rows (one batch may exceed it alone)', async () => {
  const { inserts, insert } = recorder();
  const sink = new CombinedInserts(insert, (e) => e instanceof DataError, 10, 0);
  await Promise.all([sink.write('a', 1), sink.write('b', 6), sink.write('c', 6), sink.write('d', 20)]);
  assert.deepEqual(inserts, [['a'], ['b'], ['c'], ['d']]);
});

test('inserts start at least minIntervalMs apart: batches written in the gap join one insert', async () => {
  const { inserts, insert } = recorder();
  const sink = new CombinedInserts(insert, (e) => e instanceof DataError, 1_000, 300);
  await sink.write('a', 1);
  // written one after the other, each after the previous insert would have ended without the spacing
  const b = sink.write('b', 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const c = sink.write('c', 1);
  await Promise.all([b, c]);
  assert.deepEqual(inserts, [['a'], ['b', 'c']]);
});
