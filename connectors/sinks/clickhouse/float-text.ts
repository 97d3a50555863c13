/**
 * A double as the text ClickHouse 18.16 reads back to the same bits. Its text formats (JSONEachRow
 * included) parse a number with readFloatTextFast: the integer part as an integer, up to 19 digits
 * after the point (leading zeros skipped) as an integer times a long double power of ten, then an
 * exponent as one more multiplication, each step rounding on its own. The shortest round-trip text
 * (what JSON.stringify writes) comes back one bit off for one Altman z-score in fifty, and for more
 * of the numbers it writes with an exponent.
 *
 * The text here takes the one path that rounds once: the integer part (exact below 2^53), a point,
 * and the fractional part (a double itself, exactly) in 18 significant digits, no exponent. Those
 * digits are within 5e-18 of it relatively, the long double product within 2^-63, both far inside
 * half a bit of a double, so the product rounds to the fraction and the sum is exact. The text is
 * within half a bit of the value too, so every correct parser (ClickHouse 24, JSON.parse) reads
 * the same double.
 */

/** The lowest power of ten 18.16's table has (shift10); below it a fraction would read as 0. */
const MIN_EXPONENT = -323;

/** `count` significant digits of 0 < x < 1, correctly rounded, and E with x ≈ digits × 10^E. */
function significant(x: number, count: number): { digits: string; exponent: number } {
  const [mantissa, e] = x.toExponential(count - 1).split('e');
  return { digits: mantissa!.replace('.', ''), exponent: Number(e) - (count - 1) };
}

/**
 * Text ClickHouse 18.16 parses to exactly `value` (and any correct parser too), for every finite
 * |value| < 2^53 whose fractional part is 0 or above ~1e-305; anything else as String(value).
 *
 * @example
 * float64Text(2.718441113349624) // '2.718441113349623794' (18.16 reads JSON's '2.718441113349624' as 2.7184411133496242)
 */
export function float64Text(value: number): string {
  const magnitude = Math.abs(value);
  if (!Number.isFinite(value) || magnitude >= 2 ** 53) return String(value);
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  const whole = Math.trunc(magnitude);
  const fraction = magnitude - whole; // exact: a double's fractional part is a double
  if (fraction === 0) return `${sign}${whole}`;
  let { digits, exponent } = significant(fraction, 18);
  // 18.16's table holds 1e-30, 1e-50 and 1e-70 as doubles, not long doubles: one digit more steps off them
  if (exponent % 10 === 0) ({ digits, exponent } = significant(fraction, 19));
  if (exponent < MIN_EXPONENT) return String(value);
  return `${sign}${whole}.${'0'.repeat(-exponent - digits.length)}${digits}`;
}
