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
 * - `POST /v1/predictions/bulk`: a file of statements, streamed to disk, published row by row in
 *   the background (connectors/sources/finance-bulk); progress at `GET /v1/jobs/{id}`.
 * - `GET /v1/predictions` (filters, cursor pages) and `GET /v1/predictions/{id}`, from Postgres.
 *
 * `registerFinance` also registers the companies and jobs routes.
 */
import path from 'node:path';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { FinanceBulk } from '../../connectors/sources/finance-bulk/bulk.ts';
import { AMOUNTS, checkStatement, epochDay, sharedScorer, STATEMENTS_TOPIC } from '../../connectors/sources/finance-bulk/statements.ts';
import { loadConfig } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import { inTransaction, type Pool } from '../../core/postgres.ts';
import type { ResolvedTopic } from '../../core/topic-checks.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { ApiError, errorBody } from '../errors.ts';
import type { Ingestor } from '../ingest.ts';
import { bearer, ErrorSchema, errorResponses, FileNameSchema } from '../schemas.ts';
import { decodeCursor, encodeCursor, registerCompanies } from './companies.ts';
import { JobSchema, registerJobs } from './jobs.ts';
import { PERIOD_KINDS } from '../../schemas/records/finance.ts';

export interface FinanceDeps {
  db: Pool;
  topics: readonly ResolvedTopic[];
  ingestor: Ingestor;
  log: Logger;
  /** where bulk files wait to be read; $MILLRACE_HOME/finance-bulk by default */
  bulkDir?: string;
  /** largest bulk file; UPLOAD_MAX_BYTES by default */
  maxBulkBytes?: number;
}

const CATEGORIES = ['low', 'medium', 'high', 'critical'] as const;
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

const amount = z.number().openapi({ description: 'statement currency, millions' });
const StatementSchema = z
  .object({
    company_id: z.string().min(1).max(200),
    period_end: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD').openapi({ example: '2024-12-31' }),
    ...Object.fromEntries(AMOUNTS.map((a) => [a, amount])),
    price_level_index: amount.optional().openapi({ description: 'GNP price-level index for the Ohlson size term (1968 = 100); 100 when left out' }),
  } as { company_id: z.ZodString; period_end: z.ZodString; price_level_index: z.ZodOptional<z.ZodNumber> } & Record<(typeof AMOUNTS)[number], z.ZodNumber>)
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
type Prediction = z.infer<typeof PredictionSchema>;

const CreatedSchema = PredictionSchema.extend({ published: z.object({ topic: z.string(), partition: z.number().int(), offset: z.string() }) }).openapi('PredictionCreated');
const ConflictSchema = ErrorSchema.extend({ id: z.string().openapi({ description: 'the existing prediction' }) }).openapi('PredictionConflict');

/** The columns of a prediction as the API shows it (dates as text: pg would make them local midnights). */
const PREDICTION_COLUMNS = `id, company_id, period_end::text AS period_end, kind, probability, category, ohlson_probability, zmijewski_probability,
  altman_probability, altman_z, altman_zone, model_id, model_version, scored_at`;
type PredictionRow = Omit<Prediction, 'scored_at'> & { scored_at: Date };
const prediction = (r: PredictionRow): Prediction => ({ ...r, scored_at: r.scored_at.toISOString() });

export function registerFinance(app: OpenAPIHono<AuthEnv>, deps: FinanceDeps, guards: { read: MiddlewareHandler<AuthEnv>[]; ingest: MiddlewareHandler<AuthEnv>[] }): void {
  const config = loadConfig();
  const { db, ingestor, log } = deps;
  const maxBytes = deps.maxBulkBytes ?? config.UPLOAD_MAX_BYTES;
  const statementsTopic = (): ResolvedTopic => {
    const topic = deps.topics.find((t) => t.name === STATEMENTS_TOPIC);
    if (!topic) throw new ApiError(503, 'unavailable', `the topic ${STATEMENTS_TOPIC} is not in this API's catalogue`);
    return topic;
  };
  const bulk = new FinanceBulk(db, deps.bulkDir ?? path.join(config.MILLRACE_HOME, 'finance-bulk'), ingestor, statementsTopic, log.child({ component: 'finance-bulk' }));
  const tenant = (c: Context<AuthEnv>) => c.get('principal').tenantId;

  for (const kind of PERIOD_KINDS) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/v1/predictions/${kind}`,
        tags: ['finance'],
        summary: `Score one ${kind} statement now (the pipeline's models and code) and publish it to ${STATEMENTS_TOPIC}; one per company, period end and kind`,
        security: bearer,
        middleware: guards.ingest,
        request: { body: { required: true, content: { 'application/json': { schema: StatementSchema } } } },
        responses: {
          201: json(CreatedSchema, 'scored and published'),
          409: json(ConflictSchema, 'this company already has a prediction for this period end and kind; `id` names it'),
          ...errorResponses(400, 401, 403, 413, 429),
        },
      }),
      async (c) => {
        const body = c.req.valid('json');
        const { company_id, period_end, ...amounts } = body;
        const tenantId = tenant(c);
        const checked = checkStatement(tenantId, kind, { company_id, period_end, amounts }, 'api');
        const topic = statementsTopic();
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
            throw new ApiError(503, 'unavailable', `could not publish the statement to ${STATEMENTS_TOPIC}, nothing was recorded: ${error.message}`);
          });
          if (!result || 'error' in result) throw new Error(`${STATEMENTS_TOPIC} refused the statement: ${result && 'error' in result ? result.message : 'no result'}`);
          // the pipeline's row (source_offset >= 0) wins whichever comes first
          await client.query(
            `INSERT INTO finance_scores (id, tenant_id, company_id, period_end, kind, ohlson_probability, zmijewski_probability, altman_probability, altman_z,
               altman_zone, probability, category, model_id, model_version, scored_at, source_partition, source_offset)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, -1, -1) ON CONFLICT (id) DO NOTHING`,
            [
              value.id,
              tenantId,
              value.company_id,
              checked.periodEnd,
              kind,
              score!.ohlson_probability,
              score!.zmijewski_probability,
              score!.altman_probability,
              score!.altman_z,
              score!.altman_zone,
              score!.probability,
              score!.category,
              score!.model_id,
              score!.model_version,
              new Date(value.event_time),
            ],
          );
          return { topic: topic.name, partition: result.partition, offset: result.offset };
        });
        if (!published) {
          c.header('location', `/v1/predictions/${value.id}`);
          return c.json(
            {
              ...errorBody(c, 'conflict', `company ${JSON.stringify(value.company_id)} already has a ${kind} prediction for ${checked.periodEnd}: ${value.id}`, 'period_end'),
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
      },
    );
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/predictions/bulk',
      tags: ['finance'],
      summary:
        `Many statements as the request body, CSV with a header (company_id, period, period_end, ${AMOUNTS.join(', ')}, optionally price_level_index) or JSON lines, ` +
        `at most ${maxBytes} bytes: answered at once with a job; each valid row is published to ${STATEMENTS_TOPIC}, each refused one listed with its row number, field and reason`,
      security: bearer,
      middleware: guards.ingest,
      request: {
        query: z.object({ filename: FileNameSchema.optional() }),
        body: { required: true, content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } } },
      },
      responses: { 202: json(JobSchema, 'accepted; follow it at GET /v1/jobs/{id}'), ...errorResponses(400, 401, 403, 413, 429), 415: json(ErrorSchema, 'not text') },
    }),
    async (c) => {
      const job = await bulk.receive(tenant(c), c.req.raw.body, { filename: c.req.valid('query').filename, contentType: c.req.header('content-type'), maxBytes });
      c.header('location', `/v1/jobs/${job.id}`);
      return c.json(job, 202);
    },
  );

  const ListQuery = z.object({
    company: z.string().min(1).max(200).optional(),
    period: z
      .string()
      .refine((v) => (PERIOD_KINDS as readonly string[]).includes(v) || epochDay(v) !== undefined, 'annual, quarterly, or a period end as YYYY-MM-DD')
      .optional()
      .openapi({ description: 'annual or quarterly (the kind), or a period end date YYYY-MM-DD' }),
    kind: z.enum(PERIOD_KINDS).optional(),
    category: z.enum(CATEGORIES).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().max(1000).optional().openapi({ description: 'next_cursor of the previous page' }),
  });
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/predictions',
      tags: ['finance'],
      summary: "The tenant's predictions, newest period end first; filter by company, period and category; page with cursor",
      security: bearer,
      middleware: guards.read,
      request: { query: ListQuery },
      responses: { 200: json(z.object({ predictions: z.array(PredictionSchema), next_cursor: z.string().nullable() }), 'a page'), ...errorResponses(400, 401, 403, 429) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const where = ['tenant_id = $1'];
      const params: unknown[] = [tenant(c)];
      const add = (sql: string, value: unknown) => {
        params.push(value);
        where.push(sql.replace('?', `$${params.length}`));
      };
      if (q.company !== undefined) add('company_id = ?', q.company);
      if (q.period !== undefined) add((PERIOD_KINDS as readonly string[]).includes(q.period) ? 'kind = ?' : 'period_end = ?::date', q.period);
      if (q.kind !== undefined) add('kind = ?', q.kind);
      if (q.category !== undefined) add('category = ?', q.category);
      if (q.cursor !== undefined) {
        const after = decodeCursor(q.cursor, (v): v is [string, string] => Array.isArray(v) && v.length === 2 && epochDay(String(v[0])) !== undefined && typeof v[1] === 'string');
        params.push(after[0], after[1]);
        where.push(`(period_end, id) < ($${params.length - 1}::date, $${params.length})`);
      }
      params.push(q.limit + 1);
      const { rows } = await db.query<PredictionRow>(
        `SELECT ${PREDICTION_COLUMNS} FROM finance_scores WHERE ${where.join(' AND ')} ORDER BY period_end DESC, id DESC LIMIT $${params.length}`,
        params,
      );
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return c.json({ predictions: page.map(prediction), next_cursor: rows.length > q.limit && last ? encodeCursor([last.period_end, last.id]) : null }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/predictions/{id}',
      tags: ['finance'],
      summary: 'One prediction',
      security: bearer,
      middleware: guards.read,
      request: { params: z.object({ id: z.string().min(1).max(200) }) },
      responses: { 200: json(PredictionSchema, 'the prediction'), ...errorResponses(400, 401, 403, 404, 429) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { rows } = await db.query<PredictionRow>(`SELECT ${PREDICTION_COLUMNS} FROM finance_scores WHERE id = $1 AND tenant_id = $2`, [id, tenant(c)]);
      if (rows[0]) return c.json(prediction(rows[0]), 200);
      const { rowCount } = await db.query('SELECT 1 FROM finance_statements WHERE id = $1 AND tenant_id = $2', [id, tenant(c)]);
      throw new ApiError(404, 'not_found', rowCount ? `statement "${id}" is submitted but not scored yet` : `no prediction "${id}"`, 'id');
    },
  );

  registerCompanies(app, db, guards.read);
  registerJobs(app, bulk, guards.read);
}
