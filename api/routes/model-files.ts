/**
 * A model version as files: register one by uploading its manifest and ONNX files (each graph is
 * loaded and checked against the inputs and outputs its manifest declares, models/onnx-check.ts),
 * read a version with its file list, download any of its files byte for byte. An uploaded version
 * starts in staging.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { checkVersion, getVersion, registerChecked, versionFile } from '../../models/model-registry.ts';
import { declarationOf, graphProblems } from '../../models/onnx-check.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { uploadOwner } from '../auth/model-access.ts';
import { viewerOf } from '../auth/viewer.ts';
import { visibleModel } from '../../models/model-registry.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json } from '../schemas.ts';
import { params } from './models.ts';
import { versionJson, VersionSchema } from './versions.ts';

const route = guardedRoutes('models');
const MANIFEST = 'manifest.json';

const binaryPart = z.any().openapi({ type: 'string', format: 'binary' });

const uploadRoute = route.post('/v1/models/{id}/versions', {
  summary:
    'Register a version from its files (multipart/form-data, up to UPLOAD_MAX_BYTES): part `manifest` (manifest.json: id, version, ' +
    'models[] with file, sha256, inputs and outputs) and one part per file it lists, named by the file. Every graph must load and ' +
    "have exactly the declared inputs and outputs (422 otherwise). The version starts in staging. A tenant's admin registers " +
    "under its tenant's ids (`<tenant>.<name>`), an operator platform models",
  idempotent: false, // idempotent by itself (the same files again answer 200); a multipart boundary changes between retries
  request: {
    params: params.pick({ id: true }),
    body: {
      required: true,
      content: {
        'multipart/form-data': {
          schema: z.object({ manifest: binaryPart }).catchall(binaryPart).openapi('ModelVersionUpload'),
        },
      },
    },
  },
  responses: {
    201: json(VersionSchema, 'registered'),
    200: json(VersionSchema, 'this version was already registered with the same files'),
  },
  errors: [400, 404, 409, 413, 422],
});

const FileSchema = z.object({ name: z.string(), sha256: z.string(), bytes: z.number().int() });
const getRoute = route.get('/v1/models/{id}/versions/{version}', {
  summary: 'A version: its stage, manifest and files (name, sha256, size); each file downloads from .../files/{name}',
  request: { params },
  responses: {
    200: json(
      VersionSchema.extend({ manifest: z.record(z.string(), z.unknown()), files: z.array(FileSchema) }).openapi(
        'ModelVersionDetail',
      ),
      'the version',
    ),
  },
  errors: [404],
});

const fileRoute = route.get('/v1/models/{id}/versions/{version}/files/{name}', {
  summary: "A version's file (manifest.json or a graph), byte for byte as registered; its sha256 is the ETag",
  request: { params: params.extend({ name: z.string().min(1).openapi({ example: 'model.onnx' }) }) },
  responses: {
    200: { description: 'the file (application/json for manifest.json, application/octet-stream otherwise)' },
  },
  errors: [404],
});

/** The form's parts as files by name: `manifest` is manifest.json. */
async function partsOf(form: Record<string, unknown>): Promise<Map<string, Buffer>> {
  const parts = new Map<string, Buffer>();
  for (const [name, value] of Object.entries(form)) {
    if (Array.isArray(value)) throw new ApiError(400, 'invalid_request', `part "${name}" is sent twice`, name);
    const bytes =
      typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(await (value as Blob).arrayBuffer());
    parts.set(name === 'manifest' ? MANIFEST : name, bytes);
  }
  if (!parts.has(MANIFEST))
    throw new ApiError(400, 'invalid_request', 'the part "manifest" (manifest.json) is missing', 'manifest');
  return parts;
}

export function registerModelFiles(app: OpenAPIHono<AuthEnv>, { db }: Pick<ApiDeps, 'db'>, guards: Guards): void {
  app.openapi({ ...uploadRoute, middleware: guards.manage_models }, async (c) => {
    const { id } = c.req.valid('param');
    const owner = await uploadOwner(db, c.get('principal'), id);
    const parts = await partsOf(c.req.valid('form') as Record<string, unknown>);
    const checked = await checkVersion(async (name) => parts.get(name));
    if (checked.manifest.id !== id)
      throw new ApiError(
        400,
        'invalid_request',
        `the manifest's id is "${checked.manifest.id}", not "${id}"`,
        'manifest.id',
      );
    const extra = [...parts.keys()].filter((name) => !checked.files.some((f) => f.name === name));
    if (extra.length > 0)
      throw new ApiError(400, 'invalid_request', `part "${extra[0]}" is no file the manifest lists`, extra[0]);
    const problems: string[] = [];
    for (const file of checked.files.filter((f) => f.name !== MANIFEST)) {
      const declared = declarationOf(checked.manifest, file.name);
      if (typeof declared === 'string') throw new ApiError(400, 'invalid_request', declared, 'manifest');
      problems.push(...(await graphProblems(file.name, file.content, declared)));
    }
    if (problems.length > 0) throw new ApiError(422, 'invalid_model', problems.join('; '), 'manifest');
    const registered = await registerChecked(db, checked, 'the upload', { tenantId: owner });
    return c.json(versionJson(registered), registered.created ? 201 : 200);
  });
  app.openapi({ ...getRoute, middleware: guards.read }, async (c) => {
    const { id, version } = c.req.valid('param');
    await visibleModel(db, id, viewerOf(c.get('principal')));
    const found = await getVersion(db, id, version);
    return c.json({ ...versionJson(found), manifest: found.manifest, files: found.files }, 200);
  });
  app.openapi({ ...fileRoute, middleware: guards.read }, async (c) => {
    const { id, version, name } = c.req.valid('param');
    await visibleModel(db, id, viewerOf(c.get('principal')));
    const file = await versionFile(db, id, version, name);
    return c.body(new Uint8Array(file.content), 200, {
      'content-type': name === MANIFEST ? 'application/json' : 'application/octet-stream',
      'content-disposition': `attachment; filename="${name.replace(/"/g, '')}"`,
      etag: `"${file.sha256}"`,
      // a version's files never change
      'cache-control': 'private, max-age=86400, immutable',
    });
  });
}
