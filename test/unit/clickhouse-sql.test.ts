import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quoteString, sqlIdentifier, sqlValue, SqlValueError } from '../../core/clickhouse-sql.ts';

describe('ClickHouse literals', () => {
  it('quotes strings, escaping backslash, quote and control characters', () => {
    assert.equal(quoteString("it's"), "'it\\'s'");
    assert.equal(quoteString('a\\b'), "'a\\\\b'");
    assert.equal(quoteString('x\ny\rz\tw\0v\bu\ft'), "'x\\ny\\rz\\tw\\0v\\bu\\ft'");
    assert.equal(quoteString("\\'"), "'\\\\\\''");
    assert.equal(quoteString('héllo ☃'), "'héllo ☃'");
  });

  it('renders numbers, booleans, bigints, null, arrays and dates', () => {
    assert.equal(sqlValue(42), '42');
    assert.equal(sqlValue(1.5), '1.5');
    assert.equal(sqlValue(-3), '(-3)');
    assert.equal(sqlValue(true), '1');
    assert.equal(sqlValue(false), '0');
    assert.equal(sqlValue(12345678901234567890n), '12345678901234567890');
    assert.equal(sqlValue(null), 'NULL');
    assert.equal(sqlValue(undefined), 'NULL');
    assert.equal(sqlValue(['a', 1, null]), "['a', 1, NULL]");
    assert.equal(sqlValue(new Date('2026-01-02T03:04:05.678Z')), 'toDateTime(1767323045)');
  });

  it('refuses what has no safe literal', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, new Date('nope'), { a: 1 }, Symbol('s'), () => 1]) {
      assert.throws(() => sqlValue(bad), SqlValueError);
    }
  });

  it('a negative number after a minus never forms a comment', () => {
    assert.doesNotMatch(`1 -${sqlValue(-1)}`, /--/);
  });
});

describe('ClickHouse identifiers', () => {
  it('accepts only whitelisted names, back-quoted', () => {
    assert.equal(sqlIdentifier('price', ['symbol', 'price']), '`price`');
    assert.throws(() => sqlIdentifier('price; DROP TABLE x', ['price']), /is not an allowed name/);
    assert.throws(() => sqlIdentifier('`x`', ['`x`']), /not a plain identifier/);
  });
});
