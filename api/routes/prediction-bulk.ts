/**
 * `POST /v1/predictions/bulk`: a file of statements, streamed to disk, published row by row in the
 * background (connectors/sources/finance-bulk); progress at `GET /v1/jobs/{id}` (jobs.ts).
 */
import { type OpenAPIHono } from '@hono/zod-openapi';
import { AMOUNTS, STATEMENTS_TOPIC } from '../../connectors/sources/finance-bulk/statements.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { guardedRoutes } from '../route-spec.ts';
import { ErrorSchema, FileBodyRequest, json } from '../schemas.ts';
import { JobSchema } from './jobs.ts';

const route = guardedRoutes('finance');

/** The bulk route names its cap in its summary. */
const bulkRoute = (maxBytes: number) =>
  route.post('/v1/predictions/bulk', {
    summary:
      `Many statements as the request body, CSV with a header (company_id, period, period_end, ${AMOUNTS.join(', ')}, optionally price_level_index) or JSON lines, ` +
      `at most ${maxBytes} bytes: answered at once with a job; each valid row is published to ${STATEMENTS_TOPIC}, each refused one listed with its row number, field and reason`,
    idempotent: false, // a streamed body (api/streamed-bodies.ts)
    request: FileBodyRequest,
    responses: {
      202: json(JobSchema, 'accepted; follow it at GET /v1/jobs/{id}'),
      415: json(ErrorSchema, 'not text'),
    },
    errors: [400, 413],
  });

export function registerPredictionBulk(
  app: OpenAPIHono<AuthEnv>,
  { financeBulk: bulk, settings }: Pick<ApiDeps, 'financeBulk' | 'settings'>,
  guards: Guards,
): void {
  const maxBytes = settings.uploadMaxBytes;
  app.openapi({ ...bulkRoute(maxBytes), middleware: guards.ingest }, async (c) => {
    const job = await bulk.receive(c.get('principal').tenantId, c.req.raw.body, {
      ...c.req.valid('query'),
      contentType: c.req.header('content-type'),
      maxBytes,
    });
    c.header('location', `/v1/jobs/${job.id}`);
    return c.json(job, 202);
  });
}
