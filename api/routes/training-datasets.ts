/**
 * Training datasets: named, versioned queries over whitelisted ClickHouse columns that training
 * jobs (training-jobs.ts) read; define one, read its schema, row count and label balance.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import {
  datasetDefinitionSchema,
  describeLabel,
  featuresOf,
  HOLDOUT_EVERY,
} from '../../models/tabular/dataset-spec.ts';
import { datasetStats, getDataset, saveDataset, type Dataset } from '../../models/tabular/training-datasets.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody } from '../schemas.ts';

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
const DatasetSchema = z
  .object({
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

const datasetJson = (d: Dataset) => ({
  name: d.name,
  version: d.version,
  created_at: d.created_at.toISOString(),
  table: d.definition.table,
  features: featuresOf(d.definition),
  label: describeLabel(d.definition.label),
  filter: d.definition.filter,
  holdout: `cityHash64(id) % ${HOLDOUT_EVERY} = 0`,
});

export function registerTrainingDatasets(
  app: OpenAPIHono<AuthEnv>,
  { db, clickhouse }: Pick<ApiDeps, 'db' | 'clickhouse'>,
  guards: Guards,
): void {
  app.openapi(
    route.post('/v1/training-datasets', {
      summary:
        'Define a training dataset (whitelisted table, features, label rule, filters); a changed definition becomes its next version',
      middleware: guards.analytics,
      request: { body: jsonBody(DatasetInput) },
      responses: {
        201: json(DatasetSchema, 'a new version'),
        200: json(DatasetSchema, 'the same as the latest version'),
      },
      errors: [400],
    }),
    async (c) => {
      const { name, ...definition } = c.req.valid('json');
      const saved = await saveDataset(db, c.get('principal').tenantId, name, definition);
      return c.json(datasetJson(saved), saved.created ? 201 : 200);
    },
  );
  app.openapi(
    route.get('/v1/training-datasets/{name}', {
      summary: "A dataset's schema, row count and label balance (the latest version, or ?version=N)",
      middleware: guards.read,
      request: {
        params: z.object({ name: NAME }),
        query: z.object({ version: z.coerce.number().int().min(1).optional() }),
      },
      responses: { 200: json(DatasetStatsSchema, 'the dataset') },
      errors: [400, 404],
    }),
    async (c) => {
      const dataset = await getDataset(
        db,
        c.get('principal').tenantId,
        c.req.valid('param').name,
        c.req.valid('query').version,
      );
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
