/**
 * Training datasets that training jobs (training-jobs.ts) read: named, versioned queries over
 * whitelisted ClickHouse columns, or the rows of a tenant's uploaded file (training-files.ts)
 * landed in ClickHouse; define one, read its schema, row count and label balance.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ZodError } from 'zod';
import {
  datasetDefinitionSchema,
  describeLabel,
  featuresOf,
  HOLDOUT_EVERY,
} from '../../models/tabular/dataset-spec.ts';
import { datasetStats, getDataset, saveDataset, type Dataset } from '../../models/tabular/training-datasets.ts';
import { deleteDataset, listDatasets } from '../../models/tabular/dataset-lifecycle.ts';
import type { DatasetDefinition } from '../../models/tabular/dataset-spec.ts';
import {
  asUploaded,
  COLUMN_TYPES,
  readyVersion,
  TASKS,
  type UploadedDataset,
} from '../../models/tabular/uploaded-datasets.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody, ListPageQuery } from '../schemas.ts';
import { ColumnProfileSchema, RefusedRowSchema } from './training-files.ts';

const route = guardedRoutes('models');

/** A training dataset's (or model's) name. */
export const NAME = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, - and _, up to 64');

const DatasetInput = z
  .object({ name: NAME })
  .and(datasetDefinitionSchema)
  .openapi('TrainingDatasetInput', {
    example: {
      name: 'flight-delays',
      table: 'samples_flights',
      features: ['hour', 'weekday', 'distance', 'origin'],
      label: { column: 'delay', op: '>', value: 15 },
      filter: [],
    },
  });
const ColumnTypeSchema = z.enum(COLUMN_TYPES);
/** A column by name: up to 1,000 characters, as a file may name it. */
const ColumnName = z.string().min(1).max(1000);
const FileDatasetInput = z
  .object({
    name: NAME,
    source: z.object({ file: z.uuid().openapi({ description: 'a training file (POST /v1/training-files)' }) }),
    target: ColumnName,
    features: z.array(ColumnName).min(1).max(1000),
    task: z.enum(TASKS).optional().openapi({
      description: 'by default: regression for a numeric target, else binary for 2 classes, multiclass for more',
    }),
    types: z
      .record(z.string(), ColumnTypeSchema)
      .optional()
      .openapi({ description: "a column's type instead of the inferred one" }),
  })
  .openapi('TrainingDatasetFromFileInput', {
    example: {
      name: 'cars-mpg',
      source: { file: '6f1c2a9e-4d0b-4e63-9a55-0c7c6c3f6a10' },
      target: 'Miles_per_Gallon',
      features: ['Cylinders', 'Horsepower', 'Weight_in_lbs', 'Year', 'Origin'],
    },
  });
const isFileInput = (body: unknown) => typeof body === 'object' && body !== null && Object.hasOwn(body, 'source');

const DatasetSchema = z
  .object({
    kind: z.literal('query'),
    name: z.string(),
    version: z.number().int(),
    created_at: z.string(),
    table: z.string(),
    features: z.array(
      z.object({ name: z.string(), kind: z.enum(['numeric', 'categorical']), description: z.string() }),
    ),
    label: z.string().openapi({ example: 'delay > 15' }),
    filter: z.array(z.unknown()),
    holdout: z.string().openapi({ description: 'which rows evaluation holds out' }),
  })
  .openapi('TrainingDataset');
const DatasetStatsSchema = DatasetSchema.extend({
  rows: z.number().int(),
  label_balance: z.object({
    positive: z.number().int(),
    negative: z.number().int(),
    positive_rate: z.number().nullable(),
  }),
}).openapi('TrainingDatasetStats');
const TypedColumnSchema = z.object({ name: z.string(), type: ColumnTypeSchema });
const FileDatasetSchema = z
  .object({
    kind: z.literal('file'),
    name: z.string(),
    version: z.number().int(),
    created_at: z.string(),
    source: z.object({ file: z.string(), filename: z.string().nullable(), format: z.string() }),
    target: TypedColumnSchema,
    task: z.enum(TASKS),
    features: z.array(TypedColumnSchema),
    holdout: z.string().openapi({ description: 'which rows evaluation holds out' }),
    rows: z.number().int().openapi({ description: 'rows landed in ClickHouse (training_rows)' }),
    refused_rows: z.number().int(),
    refused: z.array(RefusedRowSchema).openapi({ description: 'the first 100 refused rows' }),
    columns: z
      .array(ColumnProfileSchema)
      .openapi({ description: 'each feature, then the target, over the landed rows' }),
    label_balance: z.union([
      z.object({ classes: z.array(z.object({ class: z.string(), count: z.number().int() })) }),
      z.object({ mean: z.number(), std: z.number(), min: z.number(), max: z.number() }),
    ]),
  })
  .openapi('TrainingDatasetFromFile');

const datasetJson = (d: Dataset) => ({
  kind: 'query' as const,
  name: d.name,
  version: d.version,
  created_at: d.created_at.toISOString(),
  table: d.definition.table,
  features: featuresOf(d.definition),
  label: describeLabel(d.definition.label),
  filter: d.definition.filter,
  holdout: `cityHash64(id) % ${HOLDOUT_EVERY} = 0`,
});

const fileDatasetJson = ({ name, version, created_at, definition, profile }: UploadedDataset) => ({
  kind: 'file' as const,
  name,
  version,
  created_at: created_at.toISOString(),
  ...definition,
  holdout: `cityHash64(row_number) % ${HOLDOUT_EVERY} = 0`,
  ...profile,
});

/**
 * The body is one of two shapes, told apart by `source`: a refused body is answered with the
 * problem of its own shape (a union alone would say only "invalid input"). Nothing to say about a
 * valid one; a refusal is thrown, as the app's default hook throws it.
 */
function refuseByShape(
  result: { success: boolean; target: string; error?: ZodError },
  c: Context<AuthEnv>,
): Promise<never> | undefined {
  if (result.success || !result.error) return undefined;
  const { error, target } = result;
  return (async () => {
    let issue = error.issues[0];
    if (issue?.code === 'invalid_union') {
      const body: unknown = await c.req.json().catch(() => undefined);
      issue = issue.errors[isFileInput(body) ? 1 : 0]?.[0] ?? issue;
    }
    const field = issue?.path.join('.') || target;
    throw new ApiError(400, 'invalid_request', `${target} ${field}: ${issue?.message ?? 'invalid'}`, field);
  })();
}

export function registerTrainingDatasets(
  app: OpenAPIHono<AuthEnv>,
  { db, clickhouse, trainingFiles }: Pick<ApiDeps, 'db' | 'clickhouse' | 'trainingFiles'>,
  guards: Guards,
): void {
  app.openapi(
    route.post('/v1/training-datasets', {
      summary:
        "Define a training dataset: a query (whitelisted table, features, label rule, filters), or a training file's rows (source.file, target, features, task, types) landed in ClickHouse; a changed definition becomes its next version",
      middleware: guards.analytics,
      request: { body: jsonBody(z.union([DatasetInput, FileDatasetInput])) },
      responses: {
        201: json(z.union([DatasetSchema, FileDatasetSchema]), 'a new version'),
        200: json(z.union([DatasetSchema, FileDatasetSchema]), 'the same as the latest version'),
      },
      errors: [400, 404],
    }),
    async (c) => {
      const input = c.req.valid('json');
      const tenantId = c.get('principal').tenantId;
      if ('source' in input) {
        const { dataset, created } = await trainingFiles.createDataset(tenantId, input);
        return c.json(fileDatasetJson(dataset), created ? 201 : 200);
      }
      const { name, ...definition } = input;
      const saved = await saveDataset(db, tenantId, name, definition);
      return c.json(datasetJson(saved), saved.created ? 201 : 200);
    },
    refuseByShape,
  );
  app.openapi(
    route.get('/v1/training-datasets', {
      summary:
        "The tenant's training datasets, each at its latest version, the most recent version first (a query dataset without its row counts: GET /v1/training-datasets/{name}); next_cursor goes on",
      middleware: guards.read,
      request: { query: ListPageQuery },
      responses: {
        200: json(
          z.object({
            datasets: z.array(z.union([DatasetSchema, FileDatasetSchema])),
            next_cursor: z.string().nullable(),
          }),
          'a page of datasets',
        ),
      },
      errors: [400],
    }),
    async (c) => {
      const page = await listDatasets(db, c.get('principal').tenantId, c.req.valid('query'));
      const datasets = page.datasets.map((d) =>
        d.kind === 'file'
          ? fileDatasetJson(asUploaded(d))
          : datasetJson({ ...d, definition: d.definition as DatasetDefinition }),
      );
      return c.json({ datasets, next_cursor: page.next_cursor }, 200);
    },
  );
  app.openapi(
    route.delete('/v1/training-datasets/{name}', {
      summary:
        "Delete a training dataset: every version, the jobs that ended on it, and a file dataset's rows in ClickHouse (training_rows). One a queued or running job trains on (cancel it first) or with a version loading is a 409; registered models keep their lineage",
      middleware: guards.analytics,
      request: { params: z.object({ name: NAME }) },
      responses: { 204: { description: 'deleted' } },
      errors: [400, 404, 409],
    }),
    async (c) => {
      await deleteDataset(db, clickhouse, c.get('principal').tenantId, c.req.valid('param').name);
      return c.body(null, 204);
    },
  );
  app.openapi(
    route.get('/v1/training-datasets/{name}', {
      summary:
        "A dataset's schema, row count and label balance (the latest version, or ?version=N); one from a file also gives each column's profile and the refused rows",
      middleware: guards.read,
      request: {
        params: z.object({ name: NAME }),
        query: z.object({ version: z.coerce.number().int().min(1).optional() }),
      },
      responses: { 200: json(z.union([DatasetStatsSchema, FileDatasetSchema]), 'the dataset') },
      errors: [400, 404],
    }),
    async (c) => {
      const tenantId = c.get('principal').tenantId;
      const { name } = c.req.valid('param');
      const found = await readyVersion(db, tenantId, name, c.req.valid('query').version);
      if (found.kind === 'file') return c.json(fileDatasetJson(asUploaded(found)), 200);
      const dataset = await getDataset(db, tenantId, name, found.version);
      const { rows, positives } = await datasetStats(clickhouse, dataset);
      return c.json(
        {
          ...datasetJson(dataset),
          rows,
          label_balance: {
            positive: positives,
            negative: rows - positives,
            positive_rate: rows > 0 ? positives / rows : null,
          },
        },
        200,
      );
    },
  );
}
