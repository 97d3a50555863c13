/**
 * A model's versions and their stages (staging, production, archived); activating one (moving it
 * to production): the processors scoring with the model switch to it without a restart. A tenant
 * changes its own models; the platform's are an operator's.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import {
  activateVersion,
  listVersions,
  setStage,
  stageOf,
  STAGES,
  type ModelVersion,
} from '../../models/model-registry.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { manageableModel } from '../auth/model-access.ts';
import { viewerOf } from '../auth/viewer.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody } from '../schemas.ts';
import { params } from './models.ts';

const route = guardedRoutes('models');

export const VersionSchema = z
  .object({
    model_id: z.string(),
    version: z.string(),
    sha256: z
      .string()
      .openapi({ description: "over the name and sha256 of each of the version's files, manifest.json included" }),
    stage: z.enum(STAGES).openapi({
      description: 'production: the active version (one per model); archived: set aside; staging: any other',
    }),
    active: z.boolean().openapi({ description: 'stage is production' }),
    created_at: z.string(),
    activated_at: z.string().nullable().openapi({ description: 'when it was last activated' }),
    archived_at: z.string().nullable(),
  })
  .openapi('ModelVersion');
export const versionJson = (v: ModelVersion) => ({
  model_id: v.model_id,
  version: v.version,
  sha256: v.sha256,
  stage: stageOf(v),
  active: v.active,
  created_at: v.created_at.toISOString(),
  activated_at: v.activated_at?.toISOString() ?? null,
  archived_at: v.archived_at?.toISOString() ?? null,
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
  errors: [404, 409],
});

const stageRoute = route.post('/v1/models/{id}/versions/{version}/stage', {
  summary:
    'Move a version to staging, production (activate it: the production version before goes to staging) or archived. ' +
    'The production version leaves only when another is promoted; an archived version returns through staging',
  request: {
    params,
    body: jsonBody(z.object({ stage: z.enum(STAGES) }).openapi('StageInput', { example: { stage: 'archived' } })),
  },
  responses: { 200: json(VersionSchema, 'moved') },
  errors: [400, 404, 409],
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
  app.openapi({ ...stageRoute, middleware: guards.manage_models }, async (c) => {
    const { id, version } = c.req.valid('param');
    await manageableModel(db, c.get('principal'), id);
    return c.json(versionJson(await setStage(db, id, version, c.req.valid('json').stage)), 200);
  });
}
