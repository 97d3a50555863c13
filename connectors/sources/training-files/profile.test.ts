import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNumber, parseTimestamp, typedCell } from './cells.ts';
import { ColumnCounts, ColumnProfiler, DISTINCT_CAP, typeRow } from './profile.ts';

const inferred = (cells: string[]) => {
  const counts = new ColumnCounts();
  cells.forEach((c) => counts.add(c));
  return counts.infer();
};

describe('training file cells', () => {
  it('reads numbers, refusing separators, NaN and what overflows', () => {
    assert.equal(parseNumber(' -1.5e3 '), -1500);
    assert.equal(parseNumber('.5'), 0.5);
    for (const bad of ['1,5', '1 000', 'NaN', 'Infinity', '1e400', '0x10', ''])
      assert.equal(parseNumber(bad), undefined);
  });

  it('reads ISO 8601 dates and times on real days, UTC unless an offset is named', () => {
    assert.equal(parseTimestamp('1970-01-02'), 86_400_000);
    assert.equal(parseTimestamp('2024-02-29T13:45:00Z'), Date.UTC(2024, 1, 29, 13, 45));
    assert.equal(parseTimestamp('2024-02-29 13:45'), Date.UTC(2024, 1, 29, 13, 45));
    assert.equal(parseTimestamp('2024-02-29T13:45:00+0100'), Date.UTC(2024, 1, 29, 12, 45));
    assert.equal(parseTimestamp('2024-02-29T13:45:00.123-02:00'), Date.UTC(2024, 1, 29, 15, 45, 0, 123));
    for (const bad of ['2023-02-29', '2024-13-01', '2024-01-01T24:00', '01/02/2024', '2024-1-1'])
      assert.equal(parseTimestamp(bad), undefined, bad);
  });

  it('says why a value is not of its type', () => {
    assert.deepEqual(typedCell('numeric', 'abc'), { error: '"abc" is not a number' });
    assert.deepEqual(typedCell('boolean', 'yes'), { error: '"yes" is not true or false' });
    assert.deepEqual(typedCell('boolean', 'TRUE'), { value: 1 });
    assert.deepEqual(typedCell('text', ' x '), { value: ' x ' });
  });
});

describe('column types', () => {
  it('numeric, boolean, timestamp: every value fits below twenty, all but one in twenty above', () => {
    assert.equal(inferred(['1', '2.5', '', '-3']), 'numeric');
    assert.equal(inferred(['1', '2', 'x']), 'categorical');
    const nineteenAndOne = [...Array.from({ length: 19 }, (_, i) => String(i)), 'n/a'];
    assert.equal(inferred(nineteenAndOne), 'numeric');
    assert.equal(inferred([...nineteenAndOne, 'n/a']), 'categorical');
    assert.equal(inferred(['true', 'FALSE', '']), 'boolean');
    assert.equal(inferred(['0', '1']), 'numeric');
    assert.equal(inferred(['1970-01-01', '1982-01-01T00:00:00Z']), 'timestamp');
    assert.equal(inferred(['', ' ']), 'categorical');
  });

  it('strings: categorical up to 20 distinct values, or up to 1,000 that repeat; text otherwise', () => {
    const distinct = (n: number, times: number) => Array.from({ length: n * times }, (_, i) => `v${i % n}`);
    assert.equal(inferred(distinct(20, 1)), 'categorical');
    assert.equal(inferred(distinct(21, 1)), 'text');
    assert.equal(inferred(distinct(21, 2)), 'categorical');
    assert.equal(inferred(distinct(1000, 2)), 'categorical');
    assert.equal(inferred(distinct(1001, 2)), 'text');
  });
});

describe('rows and profiles', () => {
  it('types a row, naming every column at fault; a missing column is a missing value', () => {
    const columns = [
      { name: 'a', type: 'numeric' as const },
      { name: 'b', type: 'timestamp' as const },
      { name: 'c', type: 'categorical' as const },
    ];
    assert.deepEqual(typeRow({ a: '1', b: '1970-01-01' }, columns), { values: [1, 0, null] });
    assert.deepEqual(typeRow({ a: 'x', b: 'y', c: 'z' }, columns), {
      error: 'column "a": "x" is not a number; column "b": "y" is not an ISO 8601 date or time',
    });
  });

  it('profiles numbers (population std), booleans and strings', () => {
    const numbers = new ColumnProfiler({ name: 'n', type: 'numeric' });
    [2, 4, 4, 4, 5, 5, 7, 9, null].forEach((v) => numbers.add(v));
    assert.deepEqual(numbers.result(), {
      name: 'n',
      type: 'numeric',
      missing: 1,
      distinct: 5,
      distinct_exact: true,
      min: 2,
      max: 9,
      mean: 5,
      std: 2,
    });
    const flags = new ColumnProfiler({ name: 'f', type: 'boolean' });
    [1, 0, 1, 1].forEach((v) => flags.add(v));
    assert.deepEqual(flags.result().top, [
      { value: 'true', count: 3 },
      { value: 'false', count: 1 },
    ]);
    assert.equal(flags.result().mean, 0.75);
    const many = new ColumnProfiler({ name: 's', type: 'text' });
    for (let i = 0; i <= DISTINCT_CAP; i++) many.add(`s${i}`);
    assert.deepEqual([many.result().distinct, many.result().distinct_exact], [DISTINCT_CAP, false]);
  });
});
