/**
 * The statement fields the default models read, validated before scoring: a statement that would
 * make a ratio undefined (a zero or negative denominator, a non-finite number) is refused with a
 * StatementInvalidError naming the field, never scored as NaN.
 */
import { z } from 'zod';
import { PERIOD_KINDS, type StatementAmount } from '../../schemas/records/finance.ts';
import { MillraceError } from '../../core/errors.ts';

export class StatementInvalidError extends MillraceError {
  override name = 'StatementInvalidError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`, { code: 'invalid_statement', status: 400, details: { field } });
  }
}

/**
 * Largest |ratio| accepted. Real statements stay many orders of magnitude below it; beyond it the
 * units are wrong, and the linear scores could overflow to infinities that add up to NaN.
 */
export const MAX_RATIO = 1e12;

const amount = z.number({ error: 'expected a finite number' });
const positive = amount.positive('must be > 0: it divides another field');

const fields = z.object({
  period: z.enum(PERIOD_KINDS, { error: 'expected annual or quarterly' }),
  total_assets: positive,
  total_liabilities: positive,
  current_assets: positive,
  current_liabilities: positive,
  net_income: amount,
  net_income_prev: amount,
  funds_from_operations: amount,
  retained_earnings: amount,
  ebit: amount,
  market_value_equity: amount.nonnegative('must be >= 0'),
  sales: amount,
  price_level_index: positive.default(100),
});

/** Every ratio the models take, as [numerator, denominator]; a WC numerator is current assets less liabilities. */
const RATIOS: [StatementAmount | 'working_capital', StatementAmount][] = [
  ['total_assets', 'price_level_index'],
  ['total_liabilities', 'total_assets'],
  ['working_capital', 'total_assets'],
  ['current_liabilities', 'current_assets'],
  ['current_assets', 'current_liabilities'],
  ['net_income', 'total_assets'],
  ['funds_from_operations', 'total_liabilities'],
  ['retained_earnings', 'total_assets'],
  ['ebit', 'total_assets'],
  ['market_value_equity', 'total_liabilities'],
  ['sales', 'total_assets'],
];

const statementSchema = fields
  .superRefine((s, ctx) => {
    for (const [numerator, denominator] of RATIOS) {
      const top = numerator === 'working_capital' ? s.current_assets - s.current_liabilities : s[numerator];
      const ratio = top / s[denominator];
      if (!(Math.abs(ratio) <= MAX_RATIO)) {
        ctx.addIssue({
          code: 'custom',
          path: [denominator],
          message: `too small beside ${numerator}: the ratio ${ratio} is beyond ±${MAX_RATIO.toExponential()}`,
        });
      }
    }
    // the size term takes a logarithm, so its argument must not vanish either
    if (!(s.total_assets / s.price_level_index >= 1 / MAX_RATIO)) {
      ctx.addIssue({
        code: 'custom',
        path: ['total_assets'],
        message: `too small beside price_level_index for ln(100 * total_assets / price_level_index)`,
      });
    }
  })
  .brand<'ValidStatement'>();

/** A statement that passed `parseStatement`: the scorer takes nothing else. */
export type Statement = z.infer<typeof statementSchema>;

/** Validates one statement (extra fields, such as the record envelope, are ignored). */
export function parseStatement(input: unknown): Statement {
  const result = statementSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new StatementInvalidError(
    issue.path.length > 0 ? issue.path.map(String).join('.') : 'statement',
    issue.message,
  );
}
