import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { quoteString, sqlIdentifier, sqlValue, SqlValueError } from './clickhouse-sql.ts';

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

/** Reads a ClickHouse single-quoted literal back, the way the server's lexer does. */
function unquote(literal: string): string {
  assert.ok(literal.startsWith("'") && literal.endsWith("'") && literal.length >= 2, literal);
  const body = literal.slice(1, -1);
  const escapes: Record<string, string> = {
    n: '\n',
    r: '\r',
    t: '\t',
    '0': '\0',
    b: '\b',
    f: '\f',
    "'": "'",
    '\\': '\\',
  };
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "'") assert.fail(`unescaped quote at ${i} in ${literal}`);
    if (c === '\\') {
      const next = body[++i];
      assert.ok(next !== undefined && escapes[next] !== undefined, `dangling or unknown escape in ${literal}`);
      out += escapes[next];
    } else {
      out += c;
    }
  }
  return out;
}

describe('ClickHouse literals, properties', () => {
  it('any string renders as one literal that reads back as itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => unquote(quoteString(s)) === s),
      { numRuns: 2000, seed: 20261123 },
    );
  });

  it('strings made of quotes, backslashes and control characters never close the literal early', () => {
    const hostile = fc.string({
      unit: fc.constantFrom("'", '\\', '\n', '\r', '\t', '\0', ';', '-', '"', '`'),
      maxLength: 60,
    });
    fc.assert(
      fc.property(hostile, (s) => unquote(quoteString(s)) === s),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('finite numbers render as literals that parse back to the same number', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const text = sqlValue(n).replace(/^\((.*)\)$/, '$1');
        return Object.is(Number(text), n) || (n === 0 && Number(text) === 0);
      }),
      { numRuns: 2000, seed: 11 },
    );
  });
});
