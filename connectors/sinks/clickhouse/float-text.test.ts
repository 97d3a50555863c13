import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { float64Text } from './float-text.ts';

/** The shape 18.16 reads in one rounding: sign, integer part, point, leading zeros, at most 19 digits; no exponent. */
const ONE_ROUNDING = /^-?(\d+)(?:\.(0*)(\d{1,19}))?$/;

const inDomain = fc
  .oneof(
    fc.double({ min: -(2 ** 53), max: 2 ** 53, noNaN: true }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.integer({ min: -300, max: 0 }).chain((e) => fc.double({ min: 10 ** (e - 1), max: 10 ** e, noNaN: true })),
  )
  .filter((v) => Number.isInteger(v) || Math.abs(v) % 1 >= 1e-300);

describe('float64Text', () => {
  it('reads back as the same double, in the one-rounding shape, never at a power of ten 18.16 holds as a double', () => {
    fc.assert(
      fc.property(inDomain, (v) => {
        const text = float64Text(v);
        const match = ONE_ROUNDING.exec(text);
        if (!match || !Object.is(Number(text), v)) return false;
        const [, , zeros, digits] = match;
        // 10^-(zeros + digits) is the power the fraction is multiplied by
        return digits === undefined || (zeros!.length + digits.length) % 10 !== 0;
      }),
      { numRuns: 200_000, seed: 1968 },
    );
  });

  it('keeps the integer part as it is and gives the fraction 18 digits (19 off a double power of ten)', () => {
    assert.equal(float64Text(0.5), '0.500000000000000000');
    assert.equal(float64Text(-12.5), '-12.500000000000000000');
    assert.equal(float64Text(2.718441113349624), '2.718441113349623794');
    assert.equal(float64Text(1e-7), '0.0000000999999999999999955');
    // 18 digits of 5e-13 would end at 10^-30
    assert.equal(float64Text(5e-13), '0.0000000000004999999999999999899');
    assert.equal(float64Text(42), '42');
    assert.equal(float64Text(-0), '-0');
  });

  it('leaves what it cannot write in one rounding as String(value)', () => {
    for (const v of [2 ** 53, -1e300, 5e-324, 1e-310, Infinity, NaN]) assert.equal(float64Text(v), String(v));
  });
});
