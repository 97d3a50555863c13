/**
 * The model registry (models/registry.ts): the models and which version of each is active. Their
 * versions are in versions.ts, shadow versions in shadows.ts, predictions in model-predictions.ts.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { listModels } from '../../models/model-registry.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { bearer, errorResponses } from '../schemas.ts';

const ModelSchema = z
  .object({
    id: z.string(),
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

const listRoute = createRoute({
  method: 'get',
  path: '/v1/models',
  tags: ['models'],
  summary: 'The registered models, each with its active version',
  security: bearer,
  responses: {
    200: {
      description: 'models',
      content: { 'application/json': { schema: z.object({ models: z.array(ModelSchema) }) } },
    },
    ...errorResponses(401, 403, 429),
  },
});

export function registerModels(app: OpenAPIHono<AuthEnv>, { db }: Pick<ApiDeps, 'db'>, guards: Guards): void {
  app.openapi({ ...listRoute, middleware: guards.read }, async (c) => {
    const models = await listModels(db);
    return c.json({ models: models.map((m) => ({ ...m, created_at: m.created_at.toISOString() })) }, 200);
  });
}
