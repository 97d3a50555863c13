/** The request and response schemas of finance predictions, and a prediction row as the API shows it. */
import { z } from '@hono/zod-openapi';
import { AMOUNTS } from '../../connectors/sources/finance-bulk/statements.ts';
import { PERIOD_KINDS } from '../../schemas/records/finance.ts';
import { itemRoutes } from '../route-spec.ts';
import { ErrorSchema } from '../schemas.ts';

export const CATEGORIES = ['low', 'medium', 'high', 'critical'] as const;

/** A company's or a prediction's id, as the finance routes take one: 1 to 200 characters. */
export const FinanceId = z.string().min(1).max(200);
/** The routes of one company or prediction: a malformed id is a 400, one the tenant does not have a 404. */
export const financeById = itemRoutes('finance', z.object({ id: FinanceId }), [400, 404]);

const amount = z.number().openapi({ description: 'statement currency, millions' });
export const StatementSchema = z
  .object({
    company_id: FinanceId,
    period_end: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
      .openapi({ example: '2024-12-31' }),
    ...Object.fromEntries(AMOUNTS.map((a) => [a, amount])),
    price_level_index: amount
      .optional()
      .openapi({ description: 'GNP price-level index for the Ohlson size term (1968 = 100); 100 when left out' }),
  } as { company_id: z.ZodString; period_end: z.ZodString; price_level_index: z.ZodOptional<z.ZodNumber> } & Record<
    (typeof AMOUNTS)[number],
    z.ZodNumber
  >)
  .openapi('Statement');

export const PredictionSchema = z
  .object({
    id: z.string(),
    company_id: z.string(),
    period_end: z.string(),
    kind: z.enum(PERIOD_KINDS),
    probability: z.number(),
    category: z.enum(CATEGORIES),
    ohlson_probability: z.number(),
    zmijewski_probability: z.number(),
    altman_probability: z.number(),
    altman_z: z.number(),
    altman_zone: z.enum(['safe', 'grey', 'distress']),
    model_id: z.string(),
    model_version: z.string(),
    scored_at: z.string(),
  })
  .openapi('Prediction');
export type Prediction = z.infer<typeof PredictionSchema>;

export const CreatedSchema = PredictionSchema.extend({
  published: z.object({ topic: z.string(), partition: z.number().int(), offset: z.string() }),
}).openapi('PredictionCreated');
export const ConflictSchema = ErrorSchema.extend({
  id: z.string().openapi({ description: 'the existing prediction' }),
}).openapi('PredictionConflict');

/** The columns of a prediction as the API shows it (dates as text: pg would make them local midnights). */
export const PREDICTION_COLUMNS = `id, company_id, period_end::text AS period_end, kind, probability, category, ohlson_probability, zmijewski_probability,
  altman_probability, altman_z, altman_zone, model_id, model_version, scored_at`;
export type PredictionRow = Omit<Prediction, 'scored_at'> & { scored_at: Date };
export const prediction = (r: PredictionRow): Prediction => ({ ...r, scored_at: r.scored_at.toISOString() });
