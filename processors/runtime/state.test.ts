import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateStore } from './state.ts';

describe('processor state store', () => {
  it('keeps a batch apart until it commits, and forgets it on rollback', () => {
    const store = new StateStore(new Map([['a', '1']]));
    store.put('a', 2);
    store.put('b', { closes: [1, 2] });
    assert.equal(store.get('a'), 2, 'the batch reads its own writes');
    assert.deepEqual(store.changes(4), [
      { key: 'a', value: '2', partition: 4 },
      { key: 'b', value: '{"closes":[1,2]}', partition: 4 },
    ]);
    store.rollback();
    assert.equal(store.get('a'), 1, 'an aborted batch leaves the state as it was');
    assert.equal(store.get('b'), undefined);
    assert.deepEqual(store.changes(4), []);

    store.put('b', 3);
    store.commit();
    assert.equal(store.get('b'), 3);
    assert.equal(store.size, 2);
    assert.deepEqual(store.changes(0), [], 'committed writes are not sent twice');
  });

  it('hands out copies: mutating what get returned changes nothing until put', () => {
    const store = new StateStore();
    store.put('k', { n: 1 });
    store.commit();
    const value = store.get<{ n: number }>('k')!;
    value.n = 99;
    assert.deepEqual(store.get('k'), { n: 1 });
  });
});
