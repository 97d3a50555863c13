/** Product-file uploads (catalog): upload, inspect the columns, process, follow progress and rejections. */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { guardedRoutes, itemRoutes } from '../route-spec.ts';
import { EncodingSchema, FileBodyRequest, json, jsonBody, ListPageQuery, RejectionsPageQuery } from '../schemas.ts';

const UploadSchema = z
  .object({
    id: z.string(),
    filename: z.string().nullable(),
    format: z.enum(['csv', 'jsonl']),
    delimiter: z.string().nullable(),
    encoding: EncodingSchema,
    bytes: z.number().int(),
    state: z.enum(['uploaded', 'processing', 'processed', 'failed']),
    columns: z.array(z.string()).nullable(),
    total_rows: z.number().int().nullable(),
    published_rows: z.number().int(),
    rejected_rows: z.number().int(),
    error: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('Upload');
const IdParams = z.object({ id: z.uuid() });
const route = guardedRoutes('catalog');
/** An upload's routes: a malformed id is a 400, one the tenant does not have a 404. */
const byId = itemRoutes('catalog', IdParams, [400, 404]);

/** The upload route names its cap in its summary. */
const uploadRoute = (maxBytes: number) =>
  route.post('/v1/uploads', {
    summary: `Upload a product file as the request body: CSV (any delimiter, quoted fields, BOM, CRLF) or JSON lines, in UTF-8, UTF-16 or windows-1252 (declared with charset, or detected), at most ${maxBytes} bytes`,
    idempotent: false, // a streamed body (api/streamed-bodies.ts)
    request: FileBodyRequest,
    responses: {
      201: json(UploadSchema, 'stored; next: GET /v1/uploads/{id}/columns'),
      415: json(z.object({ error: z.string() }), 'not text'),
    },
    errors: [400, 413],
  });

const listRoute = route.get('/v1/uploads', {
  summary: "The tenant's uploads, newest first; next_cursor goes on",
  request: { query: ListPageQuery },
  responses: {
    200: json(z.object({ uploads: z.array(UploadSchema), next_cursor: z.string().nullable() }), 'a page of uploads'),
  },
  errors: [400],
});

const deleteRoute = byId.delete('/v1/uploads/{id}', {
  summary:
    'Delete an upload: its file, its rows and rejections in Postgres and its classified rows in ClickHouse (catalog_rows). One being processed, or read by a queued or running genre model job, is a 409',
  responses: { 204: { description: 'deleted' } },
  errors: [409],
});

const getRoute = byId.get('/v1/uploads/{id}', {
  summary: 'An upload and its progress',
  responses: { 200: json(UploadSchema, 'the upload') },
});

const columnsRoute = byId.get('/v1/uploads/{id}/columns', {
  summary:
    'The header and each column type, inferred from the first rows, with a few sample rows and the encoding read',
  responses: {
    200: json(
      z.object({
        encoding: EncodingSchema,
        columns: z.array(
          z.object({ name: z.string(), type: z.enum(['integer', 'number', 'boolean', 'date', 'string', 'empty']) }),
        ),
        sample: z.array(z.record(z.string(), z.string())),
        rejected_in_sample: z.number().int(),
      }),
      'columns',
    ),
  },
});

const processRoute = byId.post('/v1/uploads/{id}/process', {
  summary:
    'Publish one record per row, with the chosen columns, to catalog.rows.raw; refused rows are listed with their numbers',
  request: { body: jsonBody(z.object({ columns: z.array(z.string()).min(1), taxonomy: z.string().optional() })) },
  responses: { 202: json(UploadSchema, 'processing has started') },
  errors: [409],
});

const rejectionsRoute = byId.get('/v1/uploads/{id}/rejections', {
  summary:
    'Refused rows with their row number (1-based, header excluded) and reason; page with ?after=<last row number>',
  request: { query: RejectionsPageQuery },
  responses: {
    200: json(
      z.object({ rejections: z.array(z.object({ row_number: z.number().int(), reason: z.string() })) }),
      'rejections',
    ),
  },
});

export function registerUploads(
  app: OpenAPIHono<AuthEnv>,
  { uploads, uploadResults, settings }: Pick<ApiDeps, 'uploads' | 'uploadResults' | 'settings'>,
  guards: Guards,
): void {
  const tenant = (c: Context<AuthEnv>) => c.get('principal').tenantId;
  const maxBytes = settings.uploadMaxBytes;
  app.openapi({ ...uploadRoute(settings.uploadMaxBytes), middleware: guards.ingest }, async (c) =>
    c.json(
      await uploads.receive(tenant(c), c.req.raw.body, {
        ...c.req.valid('query'),
        contentType: c.req.header('content-type'),
        maxBytes,
      }),
      201,
    ),
  );
  app.openapi({ ...listRoute, middleware: guards.read }, async (c) =>
    c.json(await uploads.list(tenant(c), c.req.valid('query')), 200),
  );
  app.openapi({ ...deleteRoute, middleware: guards.ingest }, async (c) => {
    await uploadResults.remove(tenant(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi({ ...getRoute, middleware: guards.read }, async (c) =>
    c.json(await uploads.get(tenant(c), c.req.valid('param').id), 200),
  );
  app.openapi({ ...columnsRoute, middleware: guards.read }, async (c) =>
    c.json(await uploads.columns(tenant(c), c.req.valid('param').id), 200),
  );
  app.openapi({ ...processRoute, middleware: guards.ingest }, async (c) => {
    const { columns, taxonomy } = c.req.valid('json');
    return c.json(await uploads.process(tenant(c), c.req.valid('param').id, columns, taxonomy ?? null), 202);
  });
  app.openapi({ ...rejectionsRoute, middleware: guards.read }, async (c) => {
    const { after, limit } = c.req.valid('query');
    return c.json({ rejections: await uploads.rejections(tenant(c), c.req.valid('param').id, after, limit) }, 200);
  });
}
