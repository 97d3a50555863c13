/** Background jobs of the caller's tenant (bulk predictions): state, counts and refused rows. */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { REJECTIONS_IN_JOB } from '../../connectors/sources/finance-bulk/bulk.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { itemRoutes } from '../route-spec.ts';
import { EncodingSchema, json, RejectionsPageQuery } from '../schemas.ts';

const RejectionSchema = z
  .object({
    row_number: z.number().int().openapi({ description: '1-based, the header excluded' }),
    field: z.string().nullable().openapi({ description: 'the field at fault, when one is' }),
    reason: z.string(),
  })
  .openapi('Rejection');

export const JobSchema = z
  .object({
    id: z.string(),
    type: z.literal('finance_bulk'),
    state: z.enum(['publishing', 'scoring', 'completed', 'failed', 'cancelled']).openapi({
      description:
        'publishing: rows are being read and published; scoring: every row is read, waiting for scores; completed: every accepted row is scored; failed: see error; cancelled: stopped while publishing (rows not yet sent never are)',
    }),
    filename: z.string().nullable(),
    format: z.enum(['csv', 'jsonl']),
    encoding: EncodingSchema,
    bytes: z.number().int(),
    rows_read: z.number().int(),
    total_rows: z.number().int().nullable(),
    accepted: z.number().int().openapi({ description: 'rows published to finance.statements.raw' }),
    scored: z.number().int().openapi({ description: 'accepted rows whose score is in Postgres finance_scores' }),
    rejected: z.number().int(),
    rejections: z
      .array(RejectionSchema)
      .openapi({ description: `the first ${REJECTIONS_IN_JOB}; all of them at GET /v1/jobs/{id}/rejections` }),
    error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    completed_at: z.string().nullable(),
  })
  .openapi('Job');

const IdParams = z.object({ id: z.uuid() });
/** A job's routes: a malformed id is a 400, one the tenant does not have a 404. */
const byId = itemRoutes('finance', IdParams, [400, 404]);

export function registerJobs(
  app: OpenAPIHono<AuthEnv>,
  { financeBulk: bulk }: Pick<ApiDeps, 'financeBulk'>,
  guards: Guards,
): void {
  app.openapi(
    byId.get('/v1/jobs/{id}', {
      summary: 'A job: its state and counts (accepted, scored, rejected) and its first refused rows',
      middleware: guards.read,
      responses: { 200: json(JobSchema, 'the job') },
    }),
    async (c) => c.json(await bulk.get(c.get('principal').tenantId, c.req.valid('param').id), 200),
  );
  app.openapi(
    byId.post('/v1/jobs/{id}/cancel', {
      summary:
        'Cancel a bulk job still publishing: rows not yet sent are never sent (those sent are still scored); one whose rows are all read, or that ended, is a 409',
      middleware: guards.ingest,
      responses: { 200: json(JobSchema, 'cancelled') },
      errors: [409],
    }),
    async (c) => c.json(await bulk.cancel(c.get('principal').tenantId, c.req.valid('param').id), 200),
  );
  app.openapi(
    byId.get('/v1/jobs/{id}/rejections', {
      summary: 'Refused rows in row order with their field and reason; page with ?after=<last row number>',
      middleware: guards.read,
      request: { query: RejectionsPageQuery },
      responses: { 200: json(z.object({ rejections: z.array(RejectionSchema) }), 'rejections') },
    }),
    async (c) => {
      const { after, limit } = c.req.valid('query');
      return c.json(
        { rejections: await bulk.rejections(c.get('principal').tenantId, c.req.valid('param').id, after, limit) },
        200,
      );
    },
  );
}
