/**
 * Shadow versions: attaching a version of one of the tenant's tabular models in shadow mode makes
 * the scoring processors score the same records with it too, into ClickHouse only; the comparison
 * sets it against the active version.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Pool } from '../../core/postgres.ts';
import { compareShadow } from '../../models/comparison.ts';
import { DRIFT_BUCKETS, scoreDrift } from '../../models/drift.ts';
import { UnknownVersionError, visibleModel } from '../../models/model-registry.ts';
import { attachShadow, detachShadow, type Shadow } from '../../models/shadows.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { itemRoutes } from '../route-spec.ts';
import { json } from '../schemas.ts';
import { params } from './models.ts';

/** A model version's routes: a model or version the tenant does not have is a 404. */
const byId = itemRoutes('models', params, [404]);

const ShadowSchema = z
  .object({ model_id: z.string(), version: z.string(), attached_at: z.string() })
  .openapi('ShadowVersion');
const shadowJson = (s: Shadow) => ({
  model_id: s.model_id,
  version: s.version,
  attached_at: s.attached_at.toISOString(),
});

const MetricsSchema = z
  .object({
    rows: z.number().int(),
    positive_rate: z.number(),
    accuracy: z.number(),
    auc: z.number(),
    log_loss: z.number(),
    calibration_error: z.number(),
  })
  .openapi('BinaryMetrics');
const ComparisonSchema = z
  .object({
    model_id: z.string(),
    version: z.string().openapi({ description: 'the shadow version' }),
    records: z
      .number()
      .int()
      .openapi({ description: 'records scored by both the shadow version and the active version, in one transaction' }),
    active_versions: z
      .array(z.object({ version: z.string(), records: z.number().int() }))
      .openapi({ description: 'the active versions it was compared with' }),
    agreement: z
      .number()
      .nullable()
      .openapi({ description: 'share of the records where both predicted the same class' }),
    mean_abs_probability_diff: z.number().nullable(),
    active: MetricsSchema.nullable().openapi({
      description: "the active version's metrics on these records, against the dataset's label rule",
    }),
    shadow: MetricsSchema.nullable(),
    delta: z
      .object({ accuracy: z.number(), auc: z.number(), log_loss: z.number(), calibration_error: z.number() })
      .nullable()
      .openapi({ description: 'shadow minus active' }),
  })
  .openapi('ShadowComparison');

/** A version of one of the tenant's tabular models (its training lineage names the tenant), else a 404. */
/**
 * Checks that `version` of `modelId` is one of the tenant's tabular models. Another tenant's model
 * is unknown, in the same words as a model that exists nowhere.
 */
async function tenantVersion(db: Pool, modelId: string, version: string, tenantId: string): Promise<void> {
  const owner = await visibleModel(db, modelId, { tenantId });
  const { rows } = await db.query<{ kind: string | null }>(
    "SELECT manifest ->> 'kind' AS kind FROM model_versions WHERE model_id = $1 AND version = $2",
    [modelId, version],
  );
  if (!rows[0]) throw new UnknownVersionError(modelId, version);
  if (rows[0].kind !== 'tabular-classifier' || owner.tenant_id !== tenantId)
    throw new ApiError(404, 'not_found', `no tabular model "${modelId}" version "${version}" for this tenant`, 'id');
}

const attachRoute = byId.post('/v1/models/{id}/versions/{version}/shadow', {
  summary:
    "Attach a version of one of the tenant's tabular models in shadow mode: the scoring processors score the same records with it too, " +
    'without a restart, its scores going to ClickHouse only (never to the public scored topic); again: no change',
  responses: { 200: json(ShadowSchema, 'attached') },
  errors: [409],
});

const detachRoute = byId.delete('/v1/models/{id}/versions/{version}/shadow', {
  summary: 'Detach a shadow version: the scoring processors stop scoring with it; its scores and comparison stay',
  responses: { 200: json(ShadowSchema, 'detached') },
});

const comparisonRoute = byId.get('/v1/models/{id}/versions/{version}/comparison', {
  summary:
    'A shadow version against the active version on the same records (those both scored while it was attached): ' +
    'counts, agreement of the predicted class, mean |probability difference|, and both metrics against the actual labels with their deltas',
  responses: { 200: json(ComparisonSchema, 'the comparison') },
});

const driftRoute = byId.get('/v1/models/{id}/versions/{version}/drift', {
  summary:
    "A version's scores over time, per bucket of the records' event time: rows, mean probability, predicted and actual positive rates, " +
    'and the population stability index of the probabilities against the first bucket (above 0.25: drift)',
  request: { query: z.object({ bucket: z.enum(DRIFT_BUCKETS).default('week') }) },
  responses: {
    200: json(
      z
        .object({
          model_id: z.string(),
          version: z.string(),
          bucket: z.enum(DRIFT_BUCKETS),
          points: z.array(
            z.object({
              start: z.string(),
              rows: z.number().int(),
              mean_probability: z.number(),
              positive_rate: z.number(),
              actual_rate: z.number(),
              psi: z.number(),
            }),
          ),
        })
        .openapi('ScoreDrift'),
      'the drift, oldest bucket first',
    ),
  },
  errors: [400],
});

export function registerShadows(
  app: OpenAPIHono<AuthEnv>,
  { db, clickhouse }: Pick<ApiDeps, 'db' | 'clickhouse'>,
  guards: Guards,
): void {
  app.openapi({ ...attachRoute, middleware: guards.manage_models }, async (c) => {
    const { id, version } = c.req.valid('param');
    await tenantVersion(db, id, version, c.get('principal').tenantId);
    return c.json(shadowJson(await attachShadow(db, id, version)), 200);
  });
  app.openapi({ ...detachRoute, middleware: guards.manage_models }, async (c) => {
    const { id, version } = c.req.valid('param');
    await tenantVersion(db, id, version, c.get('principal').tenantId);
    return c.json(shadowJson(await detachShadow(db, id, version)), 200);
  });
  app.openapi({ ...comparisonRoute, middleware: guards.read }, async (c) => {
    const { id, version } = c.req.valid('param');
    const tenantId = c.get('principal').tenantId;
    await tenantVersion(db, id, version, tenantId);
    return c.json({ model_id: id, version, ...(await compareShadow(clickhouse, tenantId, id, version)) }, 200);
  });
  app.openapi({ ...driftRoute, middleware: guards.read }, async (c) => {
    const { id, version } = c.req.valid('param');
    const { bucket } = c.req.valid('query');
    const tenantId = c.get('principal').tenantId;
    await tenantVersion(db, id, version, tenantId);
    return c.json(
      { model_id: id, version, bucket, points: await scoreDrift(clickhouse, tenantId, id, version, bucket) },
      200,
    );
  });
}
