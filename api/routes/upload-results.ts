/**
 * An upload's live progress (server-sent events) and its result file. Each progress event is the
 * whole state, so a client that reconnects is up to date with its first event.
 */
import { Readable } from 'node:stream';
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { progressStream } from '../polling-sse.ts';
import { itemRoutes } from '../route-spec.ts';
import { text } from '../schemas.ts';

const IdParam = z.object({ id: z.string().min(1) });
/** An upload's routes: a malformed request is a 400, an id the tenant does not have a 404. */
const byId = itemRoutes('catalog', IdParam, [400, 404]);

export function registerUploadResults(
  app: OpenAPIHono<AuthEnv>,
  { uploadResults: results, settings }: Pick<ApiDeps, 'uploadResults' | 'settings'>,
  guards: Guards,
): void {
  app.openapi(
    byId.get('/v1/uploads/{id}/events', {
      summary:
        'Live progress: a `progress` event (rows published, rejected, classified, percent) every second until `done`',
      middleware: guards.read,
      responses: { 200: text('text/event-stream', 'an event stream') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const tenantId = c.get('principal').tenantId;
      return progressStream(
        c,
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
    byId.get('/v1/uploads/{id}/result', {
      summary:
        'The result file: the selected columns with genre, confidence, decider and attributes (409 until classified)',
      middleware: guards.read,
      responses: { 200: text('text/csv', 'CSV') },
      errors: [409],
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
