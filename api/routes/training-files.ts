/**
 * Training files: upload a CSV, JSON lines or Parquet file, then read each column's inferred type
 * and profile and the rows it refused; POST /v1/training-datasets makes it a dataset.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { COLUMN_TYPES } from '../../models/tabular/uploaded-datasets.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { guardedRoutes, itemRoutes } from '../route-spec.ts';
import { FileNameSchema, json, ListPageQuery } from '../schemas.ts';

const ColumnTypeSchema = z.enum(COLUMN_TYPES);
const TrainingFileSchema = z
  .object({
    id: z.string(),
    filename: z.string().nullable(),
    format: z.enum(['csv', 'jsonl', 'parquet']),
    delimiter: z.string().nullable(),
    bytes: z.number().int(),
    rows: z.number().int().openapi({ description: 'rows read (a CSV header excluded)' }),
    good_rows: z.number().int(),
    bad_rows: z.number().int(),
    columns: z.array(z.object({ name: z.string(), type: ColumnTypeSchema })),
    created_at: z.string(),
  })
  .openapi('TrainingFile');

export const ColumnProfileSchema = z
  .object({
    name: z.string(),
    type: ColumnTypeSchema,
    missing: z.number().int(),
    distinct: z.number().int(),
    distinct_exact: z
      .boolean()
      .openapi({ description: 'false: more distinct values than counted; `distinct` is a lower bound' }),
    min: z.number().optional().openapi({ description: 'numeric; timestamp in epoch ms' }),
    max: z.number().optional(),
    mean: z.number().optional().openapi({ description: 'numeric; boolean: the share of true' }),
    std: z.number().optional(),
    top: z
      .array(z.object({ value: z.string(), count: z.number().int() }))
      .optional()
      .openapi({ description: 'categorical, boolean, text: the most frequent values' }),
  })
  .openapi('ColumnProfile');

export const RefusedRowSchema = z.object({
  row_number: z.number().int().openapi({ description: '1-based; a CSV header is not a row' }),
  reason: z.string(),
});

const InspectionSchema = z
  .object({
    rows: z.number().int(),
    good_rows: z.number().int(),
    bad_rows: z.number().int(),
    bad: z.array(RefusedRowSchema).openapi({ description: 'the first 100 bad rows; `bad_rows` counts them all' }),
    columns: z.array(ColumnProfileSchema),
  })
  .openapi('TrainingFileColumns');

const route = guardedRoutes('models');
const byId = itemRoutes('models', z.object({ id: z.uuid() }), [400, 404]);

const uploadRoute = (maxBytes: number) =>
  route.post('/v1/training-files', {
    idempotent: false, // a streamed body (api/streamed-bodies.ts)
    summary: `Upload a training file as the request body, at most ${maxBytes} bytes: CSV (delimiter found, or ?delimiter=), JSON lines or Parquet (by content type, ?format= or its first bytes); every column's type is inferred and profiled`,
    request: {
      query: z.object({
        filename: FileNameSchema.optional(),
        format: z.enum(['csv', 'jsonl', 'parquet']).optional(),
        charset: z.string().max(64).optional().openapi({
          description:
            "a CSV's or JSON lines' encoding: utf-8, utf-16le, utf-16be, utf-16, windows-1252, iso-8859-1 or latin1; wins over the content type's charset; without either it is detected; the file is kept as UTF-8",
        }),
        delimiter: z
          .string()
          .length(1)
          .refine((d) => !['"', '\r', '\n'].includes(d), 'one character, not a quote or a line break')
          .optional()
          .openapi({ description: "a CSV's delimiter (%3B for ;, %09 for a tab)" }),
      }),
      body: {
        required: true,
        content: {
          'text/csv': { schema: z.string() },
          'application/x-ndjson': { schema: z.string() },
          'application/vnd.apache.parquet': { schema: z.string().openapi({ format: 'binary' }) },
        },
      },
    },
    responses: {
      201: json(TrainingFileSchema, 'stored and inspected; next: GET /v1/training-files/{id}/columns'),
      415: json(z.object({ error: z.string() }), 'not text (and not Parquet)'),
    },
    errors: [400, 413],
  });

const listRoute = route.get('/v1/training-files', {
  summary: "The tenant's training files, newest first; next_cursor goes on",
  request: { query: ListPageQuery },
  responses: {
    200: json(z.object({ files: z.array(TrainingFileSchema), next_cursor: z.string().nullable() }), 'a page of files'),
  },
  errors: [400],
});

const deleteRoute = byId.delete('/v1/training-files/{id}', {
  summary:
    'Delete a training file: the file on disk and its row. Datasets made from it keep their rows (landed in ClickHouse when made)',
  responses: { 204: { description: 'deleted' } },
});

const getRoute = byId.get('/v1/training-files/{id}', {
  summary: 'A training file: its format, size, row counts and column types',
  responses: { 200: json(TrainingFileSchema, 'the file') },
});

const columnsRoute = byId.get('/v1/training-files/{id}/columns', {
  summary:
    'Each column with its inferred type (numeric, categorical, boolean, timestamp, text) and profile over the good rows, the row counts, and the first bad rows by number with the reason',
  responses: { 200: json(InspectionSchema, 'the inspection') },
});

export function registerTrainingFiles(
  app: OpenAPIHono<AuthEnv>,
  { trainingFiles, settings }: Pick<ApiDeps, 'trainingFiles' | 'settings'>,
  guards: Guards,
): void {
  const tenant = (c: Context<AuthEnv>) => c.get('principal').tenantId;
  app.openapi({ ...uploadRoute(settings.uploadMaxBytes), middleware: guards.analytics }, async (c) => {
    const { filename, format, delimiter, charset } = c.req.valid('query');
    return c.json(
      await trainingFiles.receive(tenant(c), c.req.raw.body, {
        filename,
        format,
        delimiter,
        charset,
        contentType: c.req.header('content-type'),
        maxBytes: settings.uploadMaxBytes,
      }),
      201,
    );
  });
  app.openapi({ ...listRoute, middleware: guards.read }, async (c) =>
    c.json(await trainingFiles.list(tenant(c), c.req.valid('query')), 200),
  );
  app.openapi({ ...deleteRoute, middleware: guards.analytics }, async (c) => {
    await trainingFiles.remove(tenant(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi({ ...getRoute, middleware: guards.read }, async (c) =>
    c.json(await trainingFiles.get(tenant(c), c.req.valid('param').id), 200),
  );
  app.openapi({ ...columnsRoute, middleware: guards.read }, async (c) =>
    c.json(await trainingFiles.columns(tenant(c), c.req.valid('param').id), 200),
  );
}
