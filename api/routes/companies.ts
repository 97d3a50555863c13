/**
 * The companies of the caller's tenant, as their scored statements in `finance_scores` show them:
 * how many, which period ends, and the latest prediction. Cursor pages ordered by company id. Reads
 * go through the query gate (api/query-gate.ts): shared while in flight, a fair share per tenant.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import { ApiError } from '../errors.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json } from '../schemas.ts';
import { PERIOD_KINDS } from '../../schemas/records/finance.ts';
import { financeById } from './prediction-schemas.ts';

const route = guardedRoutes('finance');

/** An opaque cursor: base64url of the JSON of the last row's sort key. */
export const encodeCursor = (key: unknown): string => Buffer.from(JSON.stringify(key)).toString('base64url');

/** The sort key of a cursor, or a 400 naming `cursor` when it is not one this API gave out. */
export function decodeCursor<T>(cursor: string, valid: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!valid(value))
    throw new ApiError(400, 'invalid_request', 'cursor is not a next_cursor this API returned', 'cursor');
  return value;
}

const LatestSchema = z.object({
  id: z.string(),
  period_end: z.string(),
  kind: z.enum(PERIOD_KINDS),
  probability: z.number(),
  category: z.enum(['low', 'medium', 'high', 'critical']),
  scored_at: z.string(),
});
const CompanySchema = z
  .object({
    company_id: z.string(),
    statements: z.number().int(),
    first_period_end: z.string(),
    last_period_end: z.string(),
    latest: LatestSchema.openapi({
      description: 'the prediction of the latest period end (annual before quarterly on the same day)',
    }),
  })
  .openapi('Company');
const CompanyDetailSchema = CompanySchema.extend({
  by_category: z
    .record(z.string(), z.number().int())
    .openapi({ description: 'statements per risk category, every period' }),
  by_kind: z.record(z.string(), z.number().int()),
}).openapi('CompanyDetail');

interface CompanyRow {
  company_id: string;
  statements: number;
  first_period_end: string;
  last_period_end: string;
  latest_id: string;
  latest_period_end: string;
  latest_kind: 'annual' | 'quarterly';
  latest_probability: number;
  latest_category: 'low' | 'medium' | 'high' | 'critical';
  latest_scored_at: Date;
}

/**
 * Companies of `$1` matching `filter` (over alias c), each with its latest prediction. The counts
 * come from finance_companies, which triggers on finance_scores keep (Postgres migration 0031).
 */
const companiesSql = (filter: string, limit: string) => `
  WITH c AS (
    SELECT company_id, statements, first_period_end::text AS first_period_end, last_period_end::text AS last_period_end
      FROM finance_companies WHERE tenant_id = $1 AND ${filter}
     ORDER BY company_id ${limit}
  )
  SELECT c.*, l.id AS latest_id, l.period_end::text AS latest_period_end, l.kind AS latest_kind, l.probability AS latest_probability,
         l.category AS latest_category, l.scored_at AS latest_scored_at
    FROM c CROSS JOIN LATERAL (
      SELECT id, period_end, kind, probability, category, scored_at FROM finance_scores s
       WHERE s.tenant_id = $1 AND s.company_id = c.company_id ORDER BY period_end DESC, kind, id LIMIT 1
    ) l
   ORDER BY c.company_id`;

const company = (r: CompanyRow) => ({
  company_id: r.company_id,
  statements: r.statements,
  first_period_end: r.first_period_end,
  last_period_end: r.last_period_end,
  latest: {
    id: r.latest_id,
    period_end: r.latest_period_end,
    kind: r.latest_kind,
    probability: r.latest_probability,
    category: r.latest_category,
    scored_at: r.latest_scored_at.toISOString(),
  },
});

export function registerCompanies(
  app: OpenAPIHono<AuthEnv>,
  { queries }: Pick<ApiDeps, 'queries'>,
  guards: Guards,
): void {
  app.openapi(
    route.get('/v1/companies', {
      summary: "The tenant's scored companies by id, each with its latest prediction; page with cursor",
      middleware: guards.read,
      request: {
        query: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          cursor: z.string().max(1000).optional().openapi({ description: 'next_cursor of the previous page' }),
        }),
      },
      responses: {
        200: json(z.object({ companies: z.array(CompanySchema), next_cursor: z.string().nullable() }), 'a page'),
      },
      errors: [400],
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid('query');
      const after = cursor === undefined ? null : decodeCursor(cursor, (v): v is string => typeof v === 'string');
      const tenantId = c.get('principal').tenantId;
      const rows = await queries.postgres<CompanyRow>(
        tenantId,
        companiesSql('($2::text IS NULL OR company_id > $2)', 'LIMIT $3'),
        [tenantId, after, limit + 1],
      );
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return c.json(
        {
          companies: page.map(company),
          next_cursor: rows.length > limit && last ? encodeCursor(last.company_id) : null,
        },
        200,
      );
    },
  );
  app.openapi(
    financeById.get('/v1/companies/{id}', {
      summary:
        'One company: its statements, latest prediction, and counts by risk category and kind (its predictions: GET /v1/predictions?company=)',
      middleware: guards.read,
      responses: { 200: json(CompanyDetailSchema, 'the company') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const tenantId = c.get('principal').tenantId;
      const rows = await queries.postgres<CompanyRow>(tenantId, companiesSql('company_id = $2', ''), [tenantId, id]);
      if (!rows[0]) throw new ApiError(404, 'not_found', `no scored statement of company "${id}"`, 'id');
      const counts = await queries.postgres<{ dimension: string; value: string; n: number }>(
        tenantId,
        `SELECT 'category' AS dimension, category AS value, count(*)::int AS n FROM finance_scores WHERE tenant_id = $1 AND company_id = $2 GROUP BY category
         UNION ALL
         SELECT 'kind', kind, count(*)::int FROM finance_scores WHERE tenant_id = $1 AND company_id = $2 GROUP BY kind`,
        [tenantId, id],
      );
      const of = (dimension: string) =>
        Object.fromEntries(counts.filter((r) => r.dimension === dimension).map((r) => [r.value, r.n]));
      return c.json({ ...company(rows[0]), by_category: of('category'), by_kind: of('kind') }, 200);
    },
  );
}
