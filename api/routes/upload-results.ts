/**
 * An upload's live progress (server-sent events) and its result file. Each progress event is the
 * whole state, so a client that reconnects is up to date with its first event.
 */
import { Readable } from 'node:stream';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { progressSSE } from '../polling-sse.ts';
import { bearer, errorResponses } from '../schemas.ts';

const IdParam = z.object({ id: z.string().min(1) });

export function registerUploadResults(
  app: OpenAPIHono<AuthEnv>,
  { uploadResults: results, settings }: Pick<ApiDeps, 'uploadResults' | 'settings'>,
  guards: Guards,
): void {
  const read = guards.read;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/uploads/{id}/events',
      tags: ['catalog'],
      summary:
        'Live progress: a `progress` event (rows published, rejected, classified, percent) every second until `done`',
      security: bearer,
      middleware: read,
      request: { params: IdParam },
      responses: {
        200: { description: 'an event stream', content: { 'text/event-stream': { schema: z.string() } } },
        ...errorResponses(400, 401, 403, 404, 429),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const tenantId = c.get('principal').tenantId;
      const first = await results.progress(tenantId, id); // 404 before the stream starts
      return progressSSE(
        c,
        first,
        () => results.progress(tenantId, id),
        (progress) => ({
          event: progress.done ? 'done' : 'progress',
          id: String(progress.classified_rows + progress.rejected_rows),
          done: progress.done,
        }),
        settings.progressIntervalMs,
      );
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/uploads/{id}/result',
      tags: ['catalog'],
      summary:
        'The result file: the selected columns with genre, confidence, decider and attributes (409 until classified)',
      security: bearer,
      middleware: read,
      request: { params: IdParam },
      responses: {
        200: { description: 'CSV', content: { 'text/csv': { schema: z.string() } } },
        ...errorResponses(400, 401, 403, 404, 409, 429),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const csv = await results.resultCsv(c.get('principal').tenantId, id);
      return c.body(Readable.toWeb(csv) as ReadableStream, 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${id}-result.csv"`,
      });
    },
  );
}
