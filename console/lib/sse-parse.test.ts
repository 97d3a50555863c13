import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitEvents } from './sse-parse.ts';

describe('splitEvents', () => {
  it('cuts complete events, keeps the unfinished one, joins data lines, skips comments', () => {
    const { events, rest } = splitEvents(
      ': keep-alive\r\n\r\nevent: record\r\nid: 0:7\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: rea',
    );
    assert.deepEqual(events, [
      { event: 'message', id: undefined, data: '' },
      { event: 'record', id: '0:7', data: '{"a":\n1}' },
    ]);
    assert.equal(rest, 'event: rea');
    assert.deepEqual(splitEvents(`${rest}dy\ndata:\n\n`).events, [{ event: 'ready', id: undefined, data: '' }]);
  });
});
