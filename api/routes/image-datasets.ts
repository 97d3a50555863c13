/**
 * Image datasets: create one (keywords in, a crawl starts), follow it (counts, server-sent progress
 * until done) and export its manifest (JSON lines of the accepted images).
 */
import { Readable } from 'node:stream';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Datasets } from '../../connectors/sources/image-search/image-datasets.ts';
import { IMAGE_FORMATS } from '../../domain/images/image-format.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { bearer, errorResponses } from '../schemas.ts';

const Term = z.string().trim().min(1).max(100);
const BodySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    keywords: z.array(Term).min(1).max(50),
    per_keyword: z.number().int().min(1).max(10_000).default(50).openapi({ description: 'image URLs to collect per keyword, over all its search terms' }),
    min_width: z.number().int().min(0).max(100_000).default(0),
    min_height: z.number().int().min(0).max(100_000).default(0),
    formats: z.array(z.enum(IMAGE_FORMATS)).min(1).default([...IMAGE_FORMATS]).openapi({ description: 'formats accepted, judged from the bytes' }),
    extras: z.record(z.string(), z.array(Term).max(20)).optional().openapi({ description: 'extra search terms per keyword' }),
  })
  .openapi('DatasetInput');

const Counts = z.object({
  found: z.number().int(),
  validated: z.number().int(),
  downloaded: z.number().int(),
  accepted: z.number().int(),
  rejected: z.object({ total: z.number().int(), by_reason: z.record(z.string(), z.number().int()) }),
  duplicates: z.object({ total: z.number().int(), exact: z.number().int(), near: z.number().int() }),
});
const StatusSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    state: z.enum(['crawling', 'validating', 'done', 'failed']),
    error: z.string().nullable(),
    keywords: z.array(z.object({ keyword: z.string(), terms: z.array(z.string()) })),
    per_keyword: z.number().int(),
    min_width: z.number().int(),
    min_height: z.number().int(),
    formats: z.array(z.string()),
    search_pages: z.object({ fetched: z.number().int(), failed: z.number().int() }),
    counts: Counts,
    folder: z.string(),
    created_at: z.string(),
  })
  .openapi('Dataset');
const IdParam = z.object({ id: z.string().min(1).max(100) });

export function registerDatasets(
  app: OpenAPIHono<AuthEnv>,
  datasets: Datasets,
  guards: { read: MiddlewareHandler<AuthEnv>[]; write: MiddlewareHandler<AuthEnv>[] },
  intervalMs = 1000,
): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/datasets',
      tags: ['crawl'],
      summary: 'Create an image dataset: its keywords are expanded and crawled, the images found validated and deduplicated',
      security: bearer,
      middleware: guards.write,
      request: { body: { required: true, content: { 'application/json': { schema: BodySchema } } } },
      responses: { 201: { description: 'the dataset, crawling', content: { 'application/json': { schema: StatusSchema } } }, ...errorResponses(400, 401, 403, 429) },
    }),
    async (c) => c.json(await datasets.create(c.get('principal').tenantId, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/datasets/{id}',
      tags: ['crawl'],
      summary: 'A dataset: its state and counts (found, downloaded, accepted, rejected by reason, duplicates)',
      security: bearer,
      middleware: guards.read,
      request: { params: IdParam },
      responses: { 200: { description: 'the dataset', content: { 'application/json': { schema: StatusSchema } } }, ...errorResponses(400, 401, 403, 404, 429) },
    }),
    async (c) => c.json(await datasets.status(c.get('principal').tenantId, c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/datasets/{id}/events',
      tags: ['crawl'],
      summary: 'Live progress: a `progress` event (the whole dataset status) every second, then `done`',
      security: bearer,
      middleware: guards.read,
      request: { params: IdParam },
      responses: { 200: { description: 'an event stream', content: { 'text/event-stream': { schema: z.string() } } }, ...errorResponses(400, 401, 403, 404, 429) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const tenantId = c.get('principal').tenantId;
      const first = await datasets.status(tenantId, id); // 404 before the stream starts
      return streamSSE(c, async (stream) => {
        let aborted = false;
        stream.onAbort(() => {
          aborted = true;
        });
        for (let status = first; !aborted; status = await datasets.status(tenantId, id)) {
          const ended = status.state === 'done' || status.state === 'failed';
          await stream.writeSSE({ event: ended ? status.state : 'progress', id: String(status.counts.validated), data: JSON.stringify(status) });
          if (ended) break;
          await stream.sleep(intervalMs);
        }
      });
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/datasets/{id}/export',
      tags: ['crawl'],
      summary: 'The manifest: one JSON line per accepted image (path, sha256, width, height, format, keyword, source_url)',
      security: bearer,
      middleware: guards.read,
      request: { params: IdParam },
      responses: { 200: { description: 'JSON lines (application/x-ndjson)', content: { 'application/x-ndjson': { schema: z.string() } } }, ...errorResponses(400, 401, 403, 404, 429) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const lines = await datasets.manifest(c.get('principal').tenantId, id);
      const body = Readable.from(
        (async function* () {
          for await (const line of lines) yield Buffer.from(`${JSON.stringify(line)}\n`);
        })(),
      );
      const response = c.body(Readable.toWeb(body) as ReadableStream, 200, {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'content-disposition': `attachment; filename="${id}-manifest.jsonl"`,
      });
      // zod-openapi types a *json content type's body as JSON data; this one is a stream of lines
      return response as never;
    },
  );
}
