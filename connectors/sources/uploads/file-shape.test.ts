import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectDelimiter, detectFormat, inferType } from './file-shape.ts';

describe('upload sniffing', () => {
  it('detects CSV or JSON lines from the content type or the first bytes', () => {
    assert.equal(detectFormat('{"a":1}\n'), 'jsonl');
    assert.equal(detectFormat('\uFEFF {"a":1}'), 'jsonl');
    assert.equal(detectFormat('a,b\n1,2'), 'csv');
    assert.equal(detectFormat('{"a":1}', 'text/csv'), 'csv');
    assert.equal(detectFormat('a,b', 'application/x-ndjson'), 'jsonl');
  });

  it('detects the delimiter, ignoring delimiters inside quotes', () => {
    assert.equal(detectDelimiter('name;price;brand\n"a, b";1,5;x\nc;2;y\n'), ';');
    assert.equal(detectDelimiter('name,price\n"x; y",1\n'), ',');
    assert.equal(detectDelimiter('a\tb\tc\n1\t2\t3\n'), '\t');
    assert.equal(detectDelimiter('a|b\n1|2\n'), '|');
    assert.equal(detectDelimiter('\uFEFFtitle\nonly one column\n'), ',');
  });

  it('infers the narrowest column type from a sample', () => {
    assert.equal(inferType(['1', '2', '-3']), 'integer');
    assert.equal(inferType(['1', '2.5', '']), 'number');
    assert.equal(inferType(['2024-01-02', '2024-02-30T10:00:00Z']), 'string'); // Feb 30th is no date
    assert.equal(inferType(['2024-01-02', '2024-02-03 10:00']), 'date');
    assert.equal(inferType(['yes', 'No', 'TRUE']), 'boolean');
    assert.equal(inferType(['1', 'abc']), 'string');
    assert.equal(inferType(['', ' ']), 'empty');
  });
});
