/**
 * The model registry (models/model-registry.ts): the caller's tenant's models and the platform's,
 * and which version of each is active. Their
 * versions are in versions.ts, shadow versions in shadows.ts, predictions in model-predictions.ts.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { listModels } from '../../models/model-registry.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { viewerOf } from '../auth/viewer.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json } from '../schemas.ts';

const route = guardedRoutes('models');

const ModelSchema = z
  .object({
    id: z.string(),
    tenant_id: z
      .string()
      .nullable()
      .openapi({ description: "the tenant that owns it; null: a platform model, read-only to tenants' keys" }),
    description: z.string().nullable(),
    created_at: z.string(),
    active_version: z.string().nullable(),
    versions: z.number().int(),
  })
  .openapi('Model');
/** A model id and one of its versions, as path parameters. */
export const params = z.object({
  id: z.string().min(1).openapi({ example: 'finance.default-probability' }),
  version: z.string().min(1).openapi({ example: '1.0.0' }),
});

const listRoute = route.get('/v1/models', {
  summary: "The tenant's models and the platform's, each with its active version",
  responses: { 200: json(z.object({ models: z.array(ModelSchema) }), 'models') },
});

export function registerModels(app: OpenAPIHono<AuthEnv>, { db }: Pick<ApiDeps, 'db'>, guards: Guards): void {
  app.openapi({ ...listRoute, middleware: guards.read }, async (c) => {
    const models = await listModels(db, viewerOf(c.get('principal')));
    return c.json({ models: models.map((m) => ({ ...m, created_at: m.created_at.toISOString() })) }, 200);
  });
}
