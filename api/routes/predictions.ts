/**
 * Finance predictions over the scoring pipeline (finance.statements.raw -> finance-scoring ->
 * finance.statements.scored -> finance_scores in Postgres and ClickHouse):
 *
 * - `POST /v1/predictions/{annual|quarterly}`: one statement, validated as the processor validates
 *   it, scored at once by the API process's one FinanceScorer (the processor's code), claimed in
 *   `finance_statements` (a second one for the same company, period end and kind is a 409 naming
 *   the first), published to finance.statements.raw through the Ingestor, and its score written to
 *   `finance_scores` under the statement's deterministic id; the pipeline's score of the published
 *   record later upserts onto that same row.
 * - `GET /v1/predictions` (filters, cursor pages) and `GET /v1/predictions/{id}`, from Postgres;
 *   both through the query gate (api/query-gate.ts): shared while in flight, a fair share per tenant.
 *
 * Bulk predictions are in prediction-bulk.ts, their jobs in jobs.ts, companies in companies.ts.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  checkStatement,
  epochDay,
  sharedScorer,
  STATEMENTS_TOPIC,
  type CheckedStatement,
} from '../../connectors/sources/finance-bulk/statements.ts';
import { inTransaction, type PoolClient } from '../../core/postgres.ts';
import type { FinanceScore } from '../../schemas/records/finance.ts';
import { PERIOD_KINDS, type PeriodKind } from '../../schemas/records/finance.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError, errorBody } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody } from '../schemas.ts';
import { statementsTopicOf } from '../statements-topic.ts';
import { decodeCursor, encodeCursor } from './companies.ts';
import {
  CATEGORIES,
  ConflictSchema,
  CreatedSchema,
  FinanceId,
  financeById,
  prediction,
  PREDICTION_COLUMNS,
  PredictionSchema,
  StatementSchema,
  type PredictionRow,
} from './prediction-schemas.ts';

const route = guardedRoutes('finance');

type Deps = Pick<ApiDeps, 'db' | 'queries' | 'topics' | 'ingestor' | 'log'>;

const submitRoute = (kind: PeriodKind) =>
  route.post(`/v1/predictions/${kind}`, {
    summary: `Score one ${kind} statement now (the pipeline's models and code) and publish it to ${STATEMENTS_TOPIC}; one per company, period end and kind`,
    request: { body: jsonBody(StatementSchema) },
    responses: {
      201: json(CreatedSchema, 'scored and published'),
      409: json(ConflictSchema, 'this company already has a prediction for this period end and kind; `id` names it'),
    },
    errors: [400, 413],
  });

/**
 * The API's score of a statement it just claimed, written under the statement's id with no source
 * offset (-1): the pipeline's row (source_offset >= 0) wins whichever comes first.
 */
async function recordScore(client: PoolClient, { value, periodEnd }: CheckedStatement, score: FinanceScore) {
  await client.query(
    `INSERT INTO finance_scores (id, tenant_id, company_id, period_end, kind, ohlson_probability, zmijewski_probability, altman_probability, altman_z,
       altman_zone, probability, category, model_id, model_version, scored_at, source_partition, source_offset)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, -1, -1) ON CONFLICT (tenant_id, id) DO NOTHING`,
    [
      value.id,
      value.tenant_id,
      value.company_id,
      periodEnd,
      value.period,
      score.ohlson_probability,
      score.zmijewski_probability,
      score.altman_probability,
      score.altman_z,
      score.altman_zone,
      score.probability,
      score.category,
      score.model_id,
      score.model_version,
      new Date(value.event_time),
    ],
  );
}

/**
 * Scores one statement, claims it, publishes it and records its score, in one Postgres
 * transaction: a 409 naming the existing prediction when the statement is already claimed.
 */
async function submitStatement(
  deps: Deps,
  c: Context<AuthEnv>,
  kind: PeriodKind,
  body: z.infer<typeof StatementSchema>,
) {
  const { db, ingestor, log } = deps;
  const { company_id, period_end, ...amounts } = body;
  const tenantId = c.get('principal').tenantId;
  const checked = checkStatement(tenantId, kind, { company_id, period_end, amounts }, 'api');
  const topic = statementsTopicOf(deps.topics)();
  const [score] = await (await sharedScorer(db)).score([checked.statement]);
  const { value } = checked;
  const published = await inTransaction(db, async (client) => {
    // a concurrent twin waits here on the unique key, then finds this one and gets the 409 (its transaction wrote nothing)
    const { rowCount } = await client.query(
      `INSERT INTO finance_statements (id, tenant_id, company_id, period_end, kind, source) VALUES ($1, $2, $3, $4, $5, 'api')
       ON CONFLICT DO NOTHING`,
      [value.id, tenantId, value.company_id, checked.periodEnd, kind],
    );
    if (!rowCount) return undefined;
    const [result] = await ingestor.ingest(topic, tenantId, [value]).catch((error: Error) => {
      log.warn({ request_id: c.get('requestId'), err: error }, 'publishing a statement failed');
      throw new ApiError(
        503,
        'unavailable',
        `could not publish the statement to ${STATEMENTS_TOPIC}, nothing was recorded: ${error.message}`,
      );
    });
    if (!result || 'error' in result)
      throw new Error(
        `${STATEMENTS_TOPIC} refused the statement: ${result && 'error' in result ? result.message : 'no result'}`,
      );
    await recordScore(client, checked, score!);
    return { topic: topic.name, partition: result.partition, offset: result.offset };
  });
  if (!published) {
    c.header('location', `/v1/predictions/${value.id}`);
    return c.json(
      {
        ...errorBody(
          c,
          'conflict',
          `company ${JSON.stringify(value.company_id)} already has a ${kind} prediction for ${checked.periodEnd}: ${value.id}`,
          'period_end',
        ),
        id: value.id,
      },
      409,
    );
  }
  return c.json(
    {
      id: value.id,
      company_id: value.company_id,
      period_end: checked.periodEnd,
      ...score!,
      kind,
      scored_at: new Date(value.event_time).toISOString(),
      published,
    },
    201,
  );
}

const ListQuery = z.object({
  company: FinanceId.optional(),
  period: z
    .string()
    .refine(
      (v) => (PERIOD_KINDS as readonly string[]).includes(v) || epochDay(v) !== undefined,
      'annual, quarterly, or a period end as YYYY-MM-DD',
    )
    .optional()
    .openapi({ description: 'annual or quarterly (the kind), or a period end date YYYY-MM-DD' }),
  kind: z.enum(PERIOD_KINDS).optional(),
  category: z.enum(CATEGORIES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(1000).optional().openapi({ description: 'next_cursor of the previous page' }),
});
/** A page of the tenant's predictions, newest period end first, and the cursor of the next one. */
async function listPredictions(queries: Deps['queries'], tenantId: string, q: z.infer<typeof ListQuery>) {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [tenantId];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (q.company !== undefined) add('company_id = ?', q.company);
  if (q.period !== undefined)
    add((PERIOD_KINDS as readonly string[]).includes(q.period) ? 'kind = ?' : 'period_end = ?::date', q.period);
  if (q.kind !== undefined) add('kind = ?', q.kind);
  if (q.category !== undefined) add('category = ?', q.category);
  if (q.cursor !== undefined) {
    const after = decodeCursor(
      q.cursor,
      (v): v is [string, string] =>
        Array.isArray(v) && v.length === 2 && epochDay(String(v[0])) !== undefined && typeof v[1] === 'string',
    );
    params.push(after[0], after[1]);
    where.push(`(period_end, id) < ($${params.length - 1}::date, $${params.length})`);
  }
  params.push(q.limit + 1);
  const rows = await queries.postgres<PredictionRow>(
    tenantId,
    `SELECT ${PREDICTION_COLUMNS} FROM finance_scores WHERE ${where.join(' AND ')} ORDER BY period_end DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    predictions: page.map(prediction),
    next_cursor: rows.length > q.limit && last ? encodeCursor([last.period_end, last.id]) : null,
  };
}

export function registerPredictions(app: OpenAPIHono<AuthEnv>, deps: Deps, guards: Guards): void {
  for (const kind of PERIOD_KINDS) {
    app.openapi({ ...submitRoute(kind), middleware: guards.ingest }, async (c) =>
      submitStatement(deps, c, kind, c.req.valid('json')),
    );
  }
  app.openapi(
    route.get('/v1/predictions', {
      summary:
        "The tenant's predictions, newest period end first; filter by company, period and category; page with cursor",
      middleware: guards.read,
      request: { query: ListQuery },
      responses: {
        200: json(z.object({ predictions: z.array(PredictionSchema), next_cursor: z.string().nullable() }), 'a page'),
      },
      errors: [400],
    }),
    async (c) => c.json(await listPredictions(deps.queries, c.get('principal').tenantId, c.req.valid('query')), 200),
  );
  app.openapi(
    financeById.get('/v1/predictions/{id}', {
      summary: 'One prediction',
      middleware: guards.read,
      responses: { 200: json(PredictionSchema, 'the prediction') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const tenantId = c.get('principal').tenantId;
      const [row] = await deps.queries.postgres<PredictionRow>(
        tenantId,
        `SELECT ${PREDICTION_COLUMNS} FROM finance_scores WHERE id = $1 AND tenant_id = $2`,
        [id, tenantId],
      );
      if (row) return c.json(prediction(row), 200);
      const submitted = await deps.queries.postgres(
        tenantId,
        'SELECT 1 FROM finance_statements WHERE id = $1 AND tenant_id = $2',
        [id, tenantId],
      );
      throw new ApiError(
        404,
        'not_found',
        submitted.length > 0 ? `statement "${id}" is submitted but not scored yet` : `no prediction "${id}"`,
        'id',
      );
    },
  );
}
