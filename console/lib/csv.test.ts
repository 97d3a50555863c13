import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCsv } from './csv.ts';

describe('parseCsv', () => {
  it('splits rows and fields; quotes keep commas, newlines and doubled quotes; CRLF or LF', () => {
    assert.deepEqual(parseCsv('sku,title\r\n1,"Airplane, ""the"" film"\r\n2,"two\nlines"\n3,\n'), [
      ['sku', 'title'],
      ['1', 'Airplane, "the" film'],
      ['2', 'two\nlines'],
      ['3', ''],
    ]);
  });
  it('a last row without a line end; nothing from nothing', () => {
    assert.deepEqual(parseCsv('a,b\n1,2'), [
      ['a', 'b'],
      ['1', '2'],
    ]);
    assert.deepEqual(parseCsv(''), []);
  });
});
