/**
 * A tenant's genre models, trained from a labelled upload (domain/catalog/genre-model-jobs.ts):
 * the job runs in this API instance in the background (202; behind the instance's other genre
 * model jobs), its status is read back, and the version it registers belongs to the tenant's
 * model `<tenant>.<name>`, which a taxonomy then names (PUT /v1/taxonomies/{id} {"model": ...}).
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import {
  createGenreModelJob,
  getGenreModelJob,
  runGenreModelJob,
  type GenreModelJob,
} from '../../domain/catalog/genre-model-jobs.ts';
import { MAX_WEIGHTS } from '../../models/text-classifier/version.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { uploadOwner } from '../auth/model-access.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes, itemRoutes } from '../route-spec.ts';
import { json, jsonBody } from '../schemas.ts';

const route = guardedRoutes('models');

const JobInput = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _, up to 63')
      .openapi({ description: "the model's name: its id is <tenant>.<name>" }),
    upload: z.uuid().openapi({ description: 'an upload (POST /v1/uploads) with a text and a label column' }),
    text: z.array(z.string().min(1)).min(1).max(20).openapi({ description: "the columns joined into each row's text" }),
    label: z.string().min(1).openapi({ description: "the column holding each row's genre" }),
    dimensions: z
      .number()
      .int()
      .min(2)
      .max(MAX_WEIGHTS / 2)
      .refine((n) => (n & (n - 1)) === 0, 'a power of two')
      .default(1 << 14)
      .openapi({ description: 'hashed feature buckets (a power of two); dimensions x genres is at most 2^25' }),
    epochs: z.number().int().min(1).max(50).default(5),
    seed: z.number().int().min(0).max(0xffffffff).default(1),
  })
  .openapi('GenreModelJobInput', {
    example: { name: 'films', upload: '8d0c5c3e-7f7e-4a53-9a59-1f2d1b3c4d5e', text: ['title'], label: 'genre' },
  });

const JobSchema = z
  .object({
    id: z.string(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    reason: z.string().nullable().openapi({ description: 'why it failed' }),
    model_id: z.string(),
    model_version: z.string().nullable().openapi({ description: 'the version it registered' }),
    upload: z.string(),
    params: z.object({
      text: z.array(z.string()),
      label: z.string(),
      dimensions: z.number().int(),
      epochs: z.number().int(),
      seed: z.number().int(),
    }),
    metrics: z
      .object({
        rows: z.number().int(),
        skipped: z.number().int(),
        labels: z.number().int(),
        held_out: z.record(z.string(), z.number()),
      })
      .nullable()
      .openapi({ description: 'rows used and skipped, genres, and accuracy and macro-F1 on the held-out fifth' }),
    created_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .openapi('GenreModelJob');

const createRoute = route.post('/v1/genre-model-jobs', {
  summary:
    'Train a genre model from a labelled upload: a fifth of the rows held out to measure it, then trained on all, exported to ONNX and registered as a version of the tenant\'s model <tenant>.<name> (its first version goes to production). A taxonomy names it with PUT /v1/taxonomies/{id} {"model": ...}',
  request: { body: jsonBody(JobInput) },
  responses: { 202: json(JobSchema, 'queued; follow it at GET /v1/genre-model-jobs/{id}') },
  errors: [400, 404],
});

const job = itemRoutes('models', z.object({ id: z.uuid() }), [400, 404]);
const getRoute = job.get('/v1/genre-model-jobs/{id}', {
  summary: 'A genre model job: its status, the version it registered and its held-out accuracy',
  responses: { 200: json(JobSchema, 'the job') },
});

const jobJson = (j: GenreModelJob) => ({
  id: j.id,
  status: j.status,
  reason: j.reason,
  model_id: j.model_id,
  model_version: j.model_version,
  upload: j.upload_id,
  params: j.params,
  metrics: j.metrics,
  created_at: j.created_at.toISOString(),
  finished_at: j.finished_at?.toISOString() ?? null,
});

export function registerGenreModelJobs(
  app: OpenAPIHono<AuthEnv>,
  { db, uploads, log }: Pick<ApiDeps, 'db' | 'uploads' | 'log'>,
  guards: Guards,
): void {
  // one training at a time in this instance, in the order asked: each holds up to 256 MiB of weights
  let queue = Promise.resolve();
  app.openapi({ ...createRoute, middleware: guards.manage_models }, async (c) => {
    const principal = c.get('principal');
    const { name, upload, text, label, ...training } = c.req.valid('json');
    const modelId = `${principal.tenantId}.${name}`;
    // a tenant's admin, in its own namespace (an operator's key has no tenant models: 400)
    await uploadOwner(db, principal, modelId);
    // the columns are checked before the job is queued: a misspelt one is the caller's 400, not a failed job
    const { columns } = await uploads.columns(principal.tenantId, upload);
    const names = new Set(columns.map((col) => col.name));
    const missing = (column: string) => `column "${column}" is not in the upload; it has ${[...names].join(', ')}`;
    text.forEach((column, i) => {
      if (!names.has(column)) throw new ApiError(400, 'invalid_request', missing(column), `text.${i}`);
    });
    if (!names.has(label)) throw new ApiError(400, 'invalid_request', missing(label), 'label');
    const created = await createGenreModelJob(db, {
      tenant_id: principal.tenantId,
      model_id: modelId,
      upload_id: upload,
      params: { text, label, ...training },
    });
    const rows = await uploads.rows(principal.tenantId, upload);
    queue = queue
      .then(() => runGenreModelJob(db, created, rows, log))
      .catch((error: Error) => log.error({ job: created.id, err: error }, 'genre model job left unfinished'));
    return c.json(jobJson(created), 202);
  });
  app.openapi({ ...getRoute, middleware: guards.read }, async (c) =>
    c.json(jobJson(await getGenreModelJob(db, c.get('principal').tenantId, c.req.valid('param').id)), 200),
  );
}
