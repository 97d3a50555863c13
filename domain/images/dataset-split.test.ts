import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { assignSplits, parseSplit, splitCounts } from './dataset-split.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const items = [
  ...Array.from({ length: 50 }, (_, i) => ({ sha256: sha(`zebra${i}`), keyword: 'zebra' })),
  ...Array.from({ length: 7 }, (_, i) => ({ sha256: sha(`okapi${i}`), keyword: 'okapi' })),
];
const tally = (splits: Map<string, string>, keyword: string) => {
  const counts: Record<string, number> = { train: 0, validation: 0, test: 0 };
  for (const item of items.filter((i) => i.keyword === keyword)) counts[splits.get(item.sha256)!]! += 1;
  return counts;
};

describe('dataset split', () => {
  it('parses three ratios summing to 1, and says what is wrong otherwise', () => {
    assert.deepEqual(parseSplit('0.8,0.1,0.1'), [0.8, 0.1, 0.1]);
    assert.deepEqual(parseSplit('1, 0, 0'), [1, 0, 0]);
    for (const bad of ['0.8,0.2', '0.5,0.5,0.5', '0.8,-0.1,0.3', 'a,b,c', '0.8,,0.2', '0.8,0.1,0.1,0'])
      assert.equal(typeof parseSplit(bad), 'string', bad);
  });

  it('counts by largest remainder: every item placed, shares within one of n × ratio', () => {
    assert.deepEqual(splitCounts(10, [0.8, 0.1, 0.1]), [8, 1, 1]);
    assert.deepEqual(splitCounts(7, [0.8, 0.1, 0.1]), [5, 1, 1]); // 5.6, 0.7, 0.7: the two 0.7 remainders win
    assert.deepEqual(splitCounts(0, [0.8, 0.1, 0.1]), [0, 0, 0]);
    for (let n = 0; n < 40; n++) {
      const counts = splitCounts(n, [0.7, 0.2, 0.1]);
      assert.equal(counts[0] + counts[1] + counts[2], n);
      counts.forEach((c, i) => assert.ok(Math.abs(c - n * [0.7, 0.2, 0.1][i]!) < 1, `${n}: ${counts}`));
    }
  });

  it('is stratified by keyword and the same for the same seed, whatever the order of the items', () => {
    const splits = assignSplits(items, 7, [0.8, 0.1, 0.1]);
    assert.deepEqual(tally(splits, 'zebra'), { train: 40, validation: 5, test: 5 });
    assert.deepEqual(tally(splits, 'okapi'), { train: 5, validation: 1, test: 1 });
    assert.deepEqual(assignSplits([...items].reverse(), 7, [0.8, 0.1, 0.1]), splits);
  });

  it('another seed gives another split with the same counts', () => {
    const [a, b] = [assignSplits(items, 1, [0.8, 0.1, 0.1]), assignSplits(items, 2, [0.8, 0.1, 0.1])];
    assert.ok(items.some((i) => a.get(i.sha256) !== b.get(i.sha256)));
    assert.deepEqual(tally(b, 'zebra'), tally(a, 'zebra'));
  });
});
