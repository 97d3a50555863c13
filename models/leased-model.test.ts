import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeasedModel, withLeases } from './leased-model.ts';

const model = () => {
  const state = {
    releases: 0,
    async release() {
      state.releases++;
    },
  };
  return state;
};
const leased = <M extends { release(): Promise<void> }>(m: M) => new LeasedModel(m, () => undefined);

describe('leased models', () => {
  it('releases a retired model at once when no batch holds it, and only once', () => {
    const m = model();
    const l = leased(m);
    l.retire();
    l.retire();
    assert.equal(m.releases, 1);
  });

  it('keeps a model retired mid-batch until the batch ends', async () => {
    const m = model();
    const l = leased(m);
    await withLeases([l], async () => {
      l.retire();
      assert.equal(m.releases, 0, 'not released under a batch');
    });
    assert.equal(m.releases, 1);
  });

  it('releases after the last of overlapping batches, even when the work fails', async () => {
    const m = model();
    const l = leased(m);
    let endFirst!: () => void;
    const first = withLeases([l], () => new Promise<void>((resolve) => (endFirst = resolve)));
    const second = withLeases([l], async () => {
      l.retire();
      throw new Error('scoring failed');
    });
    await assert.rejects(second, /scoring failed/);
    assert.equal(m.releases, 0, 'the first batch still holds it');
    endFirst();
    await first;
    assert.equal(m.releases, 1);
  });

  it('never releases a model that is not retired', async () => {
    const m = model();
    await withLeases([leased(m)], async () => undefined);
    assert.equal(m.releases, 0);
  });
});
