import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { tsvEncoder, tsvString } from './tsv.ts';

/** ClickHouse's reading of an escaped TabSeparated field (readEscapedString), for the round trip. */
function unescape(field: string): string {
  const map: Record<string, string> = { t: '\t', n: '\n', r: '\r', '0': '\0', b: '\b', f: '\f', '\\': '\\', "'": "'" };
  return field.replace(/\\(.)/gs, (_, c: string) => map[c] ?? c);
}

const HOSTILE = [
  'tab\there',
  'line\nbreak',
  'carriage\rreturn',
  'back\\slash',
  '\\N',
  '\\t not a tab',
  'quote \' and "',
  'nul\0byte',
  '',
  'ünïcødé 東京 🛫',
  '\\',
  'ends with backslash\\',
];

describe('tsvString', () => {
  it('leaves no raw tab or newline and reads back as it was, for any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.constantFrom(...HOSTILE),
          fc.string({ unit: fc.constantFrom('\\', '\t', '\n', 'N', 'a') }),
        ),
        (s) => {
          const field = tsvString(s);
          return !/[\t\n]/.test(field) && unescape(field) === s;
        },
      ),
      { numRuns: 20_000, seed: 19 },
    );
  });

  it('writes each hostile string as ClickHouse escapes it', () => {
    assert.equal(tsvString('tab\there'), 'tab\\there');
    assert.equal(tsvString('line\nbreak'), 'line\\nbreak');
    assert.equal(tsvString('\\N'), '\\\\N'); // the text \N, not NULL
    assert.equal(tsvString('ends with backslash\\'), 'ends with backslash\\\\');
    assert.equal(tsvString('plain'), 'plain');
  });
});

describe('tsvEncoder', () => {
  it('writes NULL as \\N in a Nullable column, and the string "\\N" as text', () => {
    assert.equal(tsvEncoder('Nullable(String)')(null), '\\N');
    assert.equal(tsvEncoder('Nullable(String)')('\\N'), '\\\\N');
    assert.equal(tsvEncoder('Nullable(Float64)')(null), '\\N');
    assert.equal(tsvEncoder('Nullable(Float64)')(0.5), '0.500000000000000000');
  });

  it('writes doubles in the one-rounding text of float-text.ts', () => {
    assert.equal(tsvEncoder('Float64')(2.718441113349624), '2.718441113349623794');
    assert.equal(tsvEncoder('Float64')(42), '42');
    assert.equal(tsvEncoder('Float64')('1.5'), '1.5'); // text the server parses (or refuses) itself
  });

  it('writes times as epoch seconds, dates as UTC days, DateTime64 with its milliseconds', () => {
    const at = new Date(Date.UTC(2026, 11, 7, 3, 4, 5, 678));
    assert.equal(tsvEncoder('DateTime')(at), String(Math.floor(at.getTime() / 1000)));
    assert.equal(tsvEncoder("DateTime('UTC')")(at), String(Math.floor(at.getTime() / 1000)));
    assert.equal(tsvEncoder('Date')(at), '2026-12-07');
    assert.equal(tsvEncoder('Date')('2026-12-07'), '2026-12-07');
    assert.equal(tsvEncoder('DateTime64(3)')(at), `${Math.floor(at.getTime() / 1000)}.678`);
    assert.equal(tsvEncoder("DateTime64(6, 'UTC')")(at), `${Math.floor(at.getTime() / 1000)}.678`);
    assert.equal(tsvEncoder('DateTime64(1)')(at), `${Math.floor(at.getTime() / 1000)}.6`);
    assert.equal(tsvEncoder('DateTime64(0)')(at), `${Math.floor(at.getTime() / 1000)}`);
    assert.equal(tsvEncoder('DateTime64(3)')(new Date(-1_500)), '-1.500');
    assert.equal(tsvEncoder('DateTime64(3)')(new Date(5)), '0.005');
  });

  it('writes integers, bigints and booleans as digits', () => {
    assert.equal(tsvEncoder('UInt64')(18_446_744_073_709_551_615n), '18446744073709551615');
    assert.equal(tsvEncoder('Int16')(-40), '-40');
    assert.equal(tsvEncoder('UInt8')(true), '1');
    assert.equal(tsvEncoder('Nullable(UInt8)')(false), '0');
    assert.equal(tsvEncoder('LowCardinality(String)')('a\tb'), 'a\\tb');
  });

  it('writes arrays in their quoted text, with no raw tab or newline', () => {
    assert.equal(tsvEncoder('Array(String)')(['a\tb', "it's", 'back\\slash']), "['a\\tb','it\\'s','back\\\\slash']");
    assert.equal(tsvEncoder('Array(Nullable(Float64))')([0.5, null, 3]), '[0.500000000000000000,NULL,3]');
    assert.equal(tsvEncoder('Array(Nullable(String))')([null, 'x\ny']), "[NULL,'x\\ny']");
  });
});
