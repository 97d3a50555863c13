import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CursorError, decodeCursor, encodeCursor, keysetPage, pageOf } from './keyset-pages.ts';

const rows = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `u${i}`, page_at: `2026-12-07T00:00:0${i}.000123Z`, page_key: `u${i}` }));

describe('keyset pages', () => {
  it('gives the last shown row as the next cursor only when there is more', () => {
    const page = pageOf(rows(3), 2);
    assert.deepEqual(page.items, [{ id: 'u0' }, { id: 'u1' }]);
    assert.deepEqual(decodeCursor(page.next_cursor!), { at: '2026-12-07T00:00:01.000123Z', key: 'u1' });
    assert.equal(pageOf(rows(2), 2).next_cursor, null);
  });

  it('reads after the cursor, numbering its parameters from the one given', () => {
    const cursor = encodeCursor({ at: '2026-12-07T00:00:01.000123Z', key: 'a|b' });
    assert.deepEqual(keysetPage('created_at', 'id', { limit: 5, cursor }, 2), {
      where: '(created_at, id::text) < ($2::timestamptz, $3::text)',
      orderAndLimit: 'ORDER BY created_at DESC, id::text DESC LIMIT $4',
      params: ['2026-12-07T00:00:01.000123Z', 'a|b', 6],
    });
    assert.deepEqual(keysetPage('created_at', 'id', { limit: 5 }, 2).params, [6]);
  });

  it('refuses a cursor it did not give: not base64 of a pair, a date that does not exist', () => {
    const bad = ['', 'not-a-cursor', Buffer.from('2026-02-30T00:00:00.000000Z|x').toString('base64url')];
    bad.push(Buffer.from('2026-12-07T00:00:00Z|x').toString('base64url'));
    for (const cursor of bad) assert.throws(() => decodeCursor(cursor), CursorError, cursor);
  });
});
