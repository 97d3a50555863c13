/**
 * A model's versions, and activating one: the processors scoring with the model switch to it
 * without a restart. A tenant activates its own models; the platform's are an operator's.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { activateVersion, listVersions, type ModelVersion } from '../../models/model-registry.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { manageableModel } from '../auth/model-access.ts';
import { viewerOf } from '../auth/viewer.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json } from '../schemas.ts';
import { params } from './models.ts';

const route = guardedRoutes('models');

const VersionSchema = z
  .object({
    model_id: z.string(),
    version: z.string(),
    sha256: z
      .string()
      .openapi({ description: "over the name and sha256 of each of the version's files, manifest.json included" }),
    active: z.boolean(),
    created_at: z.string(),
    activated_at: z.string().nullable().openapi({ description: 'when it was last activated' }),
  })
  .openapi('ModelVersion');
const versionJson = (v: ModelVersion) => ({
  model_id: v.model_id,
  version: v.version,
  sha256: v.sha256,
  active: v.active,
  created_at: v.created_at.toISOString(),
  activated_at: v.activated_at?.toISOString() ?? null,
});

const listRoute = route.get('/v1/models/{id}/versions', {
  summary: "A model's versions, oldest first, with their manifests",
  request: { params: params.pick({ id: true }) },
  responses: {
    200: json(
      z.object({
        versions: z.array(
          VersionSchema.extend({
            shadow: z.boolean().openapi({ description: 'attached in shadow mode' }),
            manifest: z.record(z.string(), z.unknown()),
          }),
        ),
      }),
      'versions',
    ),
  },
  errors: [404],
});

const activateRoute = route.post('/v1/models/{id}/versions/{version}/activate', {
  summary:
    "Make a version the active one: the processors scoring with the model switch to it without a restart. A tenant's admin activates its tenant's models, an operator the platform's",
  request: { params },
  responses: {
    200: json(
      VersionSchema.extend({
        previous_version: z.string().nullable().openapi({ description: 'the version active before' }),
      }),
      'activated',
    ),
  },
  errors: [404],
});

export function registerVersions(app: OpenAPIHono<AuthEnv>, { db }: Pick<ApiDeps, 'db'>, guards: Guards): void {
  app.openapi({ ...listRoute, middleware: guards.read }, async (c) => {
    const versions = await listVersions(db, c.req.valid('param').id, viewerOf(c.get('principal')));
    return c.json(
      { versions: versions.map((v) => ({ ...versionJson(v), shadow: v.shadow, manifest: v.manifest })) },
      200,
    );
  });
  app.openapi({ ...activateRoute, middleware: guards.manage_models }, async (c) => {
    const { id, version } = c.req.valid('param');
    await manageableModel(db, c.get('principal'), id);
    const activated = await activateVersion(db, id, version);
    return c.json({ ...versionJson(activated), previous_version: activated.previous_version }, 200);
  });
}
