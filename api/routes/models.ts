/**
 * The model registry (models/registry.ts): the models, their versions, and which one is active.
 * Activating a version switches every processor that scores with the model, without a restart.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Pool } from '../../core/postgres.ts';
import { loadConfig } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import { activateVersion, listModels, listVersions, UnknownModelError, UnknownVersionError, type ModelVersion } from '../../models/registry.ts';
import { EncodingError } from '../../models/tabular/encoding.ts';
import { NoModelError, TabularPredictors } from '../../models/tabular/predictor.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { ApiError } from '../errors.ts';
import { bearer, errorResponses } from '../schemas.ts';

const ModelSchema = z
  .object({ id: z.string(), description: z.string().nullable(), created_at: z.string(), active_version: z.string().nullable(), versions: z.number().int() })
  .openapi('Model');
const VersionSchema = z
  .object({
    model_id: z.string(),
    version: z.string(),
    sha256: z.string().openapi({ description: "over the name and sha256 of each of the version's files, manifest.json included" }),
    active: z.boolean(),
    created_at: z.string(),
    activated_at: z.string().nullable().openapi({ description: 'when it was last activated' }),
  })
  .openapi('ModelVersion');
const params = z.object({
  id: z.string().min(1).openapi({ example: 'finance.default-probability' }),
  version: z.string().min(1).openapi({ example: '1.0.0' }),
});

const versionJson = (v: ModelVersion) => ({
  model_id: v.model_id,
  version: v.version,
  sha256: v.sha256,
  active: v.active,
  created_at: v.created_at.toISOString(),
  activated_at: v.activated_at?.toISOString() ?? null,
});

function notFound(error: unknown): never {
  if (error instanceof UnknownModelError) throw new ApiError(404, 'not_found', error.message, 'id');
  if (error instanceof UnknownVersionError) throw new ApiError(404, 'not_found', error.message, 'version');
  throw error;
}

const PredictInput = z
  .object({ rows: z.array(z.record(z.string(), z.unknown())).min(1).max(1000).openapi({ description: 'feature values by name, as the dataset names them' }) })
  .openapi('PredictInput', { example: { rows: [{ hour: 18, weekday: 5, distance: 740, origin: 'ORD' }] } });
const PredictOutput = z
  .object({
    model_id: z.string(),
    version: z.string().openapi({ description: 'the active version that answered' }),
    predictions: z.array(z.object({ label: z.union([z.literal(0), z.literal(1)]), probability: z.number().openapi({ description: 'P(label = 1)' }) })),
  })
  .openapi('Predictions');

export function registerModels(
  app: OpenAPIHono<AuthEnv>,
  db: Pool,
  guards: { read: MiddlewareHandler<AuthEnv>[]; activate: MiddlewareHandler<AuthEnv>[] },
  log: Logger,
): void {
  // a model loads on its first prediction; its LISTEN connection does not keep a process alive
  const predictors = new TabularPredictors(db, log, loadConfig().PREDICT_BATCH_WINDOW_MS);
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/models',
      tags: ['models'],
      summary: 'The registered models, each with its active version',
      security: bearer,
      middleware: guards.read,
      responses: { 200: { description: 'models', content: { 'application/json': { schema: z.object({ models: z.array(ModelSchema) }) } } }, ...errorResponses(401, 403, 429) },
    }),
    async (c) => {
      const models = await listModels(db);
      return c.json({ models: models.map((m) => ({ ...m, created_at: m.created_at.toISOString() })) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/models/{id}/versions',
      tags: ['models'],
      summary: "A model's versions, oldest first, with their manifests",
      security: bearer,
      middleware: guards.read,
      request: { params: params.pick({ id: true }) },
      responses: {
        200: {
          description: 'versions',
          content: { 'application/json': { schema: z.object({ versions: z.array(VersionSchema.extend({ manifest: z.record(z.string(), z.unknown()) })) }) } },
        },
        ...errorResponses(401, 403, 404, 429),
      },
    }),
    async (c) => {
      const versions = await listVersions(db, c.req.valid('param').id).catch(notFound);
      return c.json({ versions: versions.map((v) => ({ ...versionJson(v), manifest: v.manifest })) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/models/{id}/versions/{version}/activate',
      tags: ['models'],
      summary: 'Make a version the active one: the processors scoring with the model switch to it without a restart',
      security: bearer,
      middleware: guards.activate,
      request: { params },
      responses: {
        200: {
          description: 'activated',
          content: { 'application/json': { schema: VersionSchema.extend({ previous_version: z.string().nullable().openapi({ description: 'the version active before' }) }) } },
        },
        ...errorResponses(401, 403, 404, 429),
      },
    }),
    async (c) => {
      const { id, version } = c.req.valid('param');
      const activated = await activateVersion(db, id, version).catch(notFound);
      return c.json({ ...versionJson(activated), previous_version: activated.previous_version }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/models/{id}/predict',
      tags: ['models'],
      summary: "Predict with the active version of one of the tenant's trained models; follows activations without a restart",
      security: bearer,
      middleware: guards.read,
      request: { params: params.pick({ id: true }), body: { required: true, content: { 'application/json': { schema: PredictInput } } } },
      responses: { 200: { description: 'one prediction per row, in order', content: { 'application/json': { schema: PredictOutput } } }, ...errorResponses(400, 401, 403, 404, 429) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      try {
        const { version, predictions } = await predictors.predict(id, c.get('principal').tenantId, c.req.valid('json').rows);
        return c.json({ model_id: id, version, predictions }, 200);
      } catch (error) {
        if (error instanceof NoModelError) throw new ApiError(404, 'not_found', error.message, 'id');
        if (error instanceof EncodingError) throw new ApiError(400, 'invalid_request', error.message, error.field);
        throw error;
      }
    },
  );
}
