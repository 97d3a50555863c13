/**
 * The model registry (models/registry.ts): the models, their versions, and which one is active.
 * Activating a version switches every processor that scores with the model, without a restart;
 * attaching one in shadow mode makes the scoring processors score the same records with it too,
 * into ClickHouse only, and the comparison endpoint sets it against the active version.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { stream } from 'hono/streaming';
import type { Pool } from '../../core/postgres.ts';
import { loadConfig } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { compareShadow } from '../../models/comparison.ts';
import { activateVersion, listModels, listVersions, UnknownModelError, UnknownVersionError, type ModelVersion } from '../../models/model-registry.ts';
import { attachShadow, detachShadow, type Shadow } from '../../models/shadows.ts';
import { rowProblem } from '../../models/tabular/encoding.ts';
import { TabularPredictors } from '../../models/tabular/predictor.ts';
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

const ShadowSchema = z.object({ model_id: z.string(), version: z.string(), attached_at: z.string() }).openapi('ShadowVersion');
const shadowJson = (s: Shadow) => ({ model_id: s.model_id, version: s.version, attached_at: s.attached_at.toISOString() });

const MetricsSchema = z
  .object({ rows: z.number().int(), positive_rate: z.number(), accuracy: z.number(), auc: z.number(), log_loss: z.number(), calibration_error: z.number() })
  .openapi('BinaryMetrics');
const ComparisonSchema = z
  .object({
    model_id: z.string(),
    version: z.string().openapi({ description: 'the shadow version' }),
    records: z.number().int().openapi({ description: 'records scored by both the shadow version and the active version, in one transaction' }),
    active_versions: z.array(z.object({ version: z.string(), records: z.number().int() })).openapi({ description: 'the active versions it was compared with' }),
    agreement: z.number().nullable().openapi({ description: 'share of the records where both predicted the same class' }),
    mean_abs_probability_diff: z.number().nullable(),
    active: MetricsSchema.nullable().openapi({ description: "the active version's metrics on these records, against the dataset's label rule" }),
    shadow: MetricsSchema.nullable(),
    delta: z
      .object({ accuracy: z.number(), auc: z.number(), log_loss: z.number(), calibration_error: z.number() })
      .nullable()
      .openapi({ description: 'shadow minus active' }),
  })
  .openapi('ShadowComparison');

/** A version of one of the tenant's tabular models (its training lineage names the tenant), else a 404. */
async function tenantVersion(db: Pool, modelId: string, version: string, tenantId: string): Promise<void> {
  const { rows } = await db.query<{ kind: string | null; tenant_id: string | null }>(
    "SELECT manifest ->> 'kind' AS kind, manifest -> 'lineage' ->> 'tenant_id' AS tenant_id FROM model_versions WHERE model_id = $1 AND version = $2",
    [modelId, version],
  );
  if (!rows[0]) {
    const { rowCount } = await db.query('SELECT 1 FROM models WHERE id = $1', [modelId]);
    throw rowCount === 0 ? new UnknownModelError(modelId) : new UnknownVersionError(modelId, version);
  }
  if (rows[0].kind !== 'tabular-classifier' || rows[0].tenant_id !== tenantId) throw new ApiError(404, 'not_found', `no tabular model "${modelId}" version "${version}" for this tenant`, 'id');
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
  clickhouse?: ClickHouseClient,
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
          content: {
            'application/json': {
              schema: z.object({
                versions: z.array(
                  VersionSchema.extend({ shadow: z.boolean().openapi({ description: 'attached in shadow mode' }), manifest: z.record(z.string(), z.unknown()) }),
                ),
              }),
            },
          },
        },
        ...errorResponses(401, 403, 404, 429),
      },
    }),
    async (c) => {
      const versions = await listVersions(db, c.req.valid('param').id);
      return c.json({ versions: versions.map((v) => ({ ...versionJson(v), shadow: v.shadow, manifest: v.manifest })) }, 200);
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
      const activated = await activateVersion(db, id, version);
      return c.json({ ...versionJson(activated), previous_version: activated.previous_version }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/models/{id}/versions/{version}/shadow',
      tags: ['models'],
      summary:
        "Attach a version of one of the tenant's tabular models in shadow mode: the scoring processors score the same records with it too, " +
        'without a restart, its scores going to ClickHouse only (never to the public scored topic); again: no change',
      security: bearer,
      middleware: guards.activate,
      request: { params },
      responses: {
        200: { description: 'attached', content: { 'application/json': { schema: ShadowSchema } } },
        ...errorResponses(401, 403, 404, 409, 429),
      },
    }),
    async (c) => {
      const { id, version } = c.req.valid('param');
      await tenantVersion(db, id, version, c.get('principal').tenantId);
      return c.json(shadowJson(await attachShadow(db, id, version)), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/models/{id}/versions/{version}/shadow',
      tags: ['models'],
      summary: 'Detach a shadow version: the scoring processors stop scoring with it; its scores and comparison stay',
      security: bearer,
      middleware: guards.activate,
      request: { params },
      responses: { 200: { description: 'detached', content: { 'application/json': { schema: ShadowSchema } } }, ...errorResponses(401, 403, 404, 429) },
    }),
    async (c) => {
      const { id, version } = c.req.valid('param');
      await tenantVersion(db, id, version, c.get('principal').tenantId);
      return c.json(shadowJson(await detachShadow(db, id, version)), 200);
    },
  );
  if (clickhouse) {
    app.openapi(
      createRoute({
        method: 'get',
        path: '/v1/models/{id}/versions/{version}/comparison',
        tags: ['models'],
        summary:
          'A shadow version against the active version on the same records (those both scored while it was attached): ' +
          'counts, agreement of the predicted class, mean |probability difference|, and both metrics against the actual labels with their deltas',
        security: bearer,
        middleware: guards.read,
        request: { params },
        responses: { 200: { description: 'the comparison', content: { 'application/json': { schema: ComparisonSchema } } }, ...errorResponses(401, 403, 404, 429) },
      }),
      async (c) => {
        const { id, version } = c.req.valid('param');
        const tenantId = c.get('principal').tenantId;
        await tenantVersion(db, id, version, tenantId);
        return c.json({ model_id: id, version, ...(await compareShadow(clickhouse, tenantId, id, version)) }, 200);
      },
    );
  }
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
      const { version, predictions } = await predictors.predict(id, c.get('principal').tenantId, c.req.valid('json').rows);
      return c.json({ model_id: id, version, predictions }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/models/{id}/batch',
      tags: ['models'],
      summary:
        'Score many rows: a JSON-lines body (one row object a line, streamed, up to UPLOAD_MAX_BYTES) gets a JSON-lines answer, ' +
        '`{"line", "label", "probability"}` or `{"line", "error", "field"?, "message"}` for each non-empty line, in order; every row by the ' +
        'version active when the request began (header x-model-version)',
      security: bearer,
      middleware: guards.read,
      request: { params: params.pick({ id: true }), body: { required: true, content: { 'application/x-ndjson': { schema: z.string() } } } },
      // no content schema: zod-openapi would take a *json* media type for one answer of c.json()
      responses: { 200: { description: 'JSON lines (application/x-ndjson), one answer per non-empty input line' }, ...errorResponses(400, 401, 403, 404, 429) },
    }),
    async (c) => {
      const body = c.req.raw.body;
      if (!body) throw new ApiError(400, 'invalid_request', 'the body must be JSON lines, one row object a line');
      const held = await predictors.hold(c.req.valid('param').id, c.get('principal').tenantId);
      c.header('content-type', 'application/x-ndjson');
      c.header('x-model-version', held.version);
      return stream(
        c,
        async (out) => {
          try {
            await scoreLines(body, loadConfig().UPLOAD_MAX_BYTES, held, (lines) => out.write(lines));
          } finally {
            held.release();
          }
        },
        async (error, out) => {
          log.error({ err: error, request_id: c.get('requestId') }, 'batch scoring failed');
          await out.write(`${JSON.stringify({ error: 'internal', message: 'scoring stopped; see the server log for this request id' })}\n`);
        },
      );
    },
  );
}

const BATCH_ROWS = 1024;

/** Reads JSON lines, scores them in chunks of BATCH_ROWS, and writes one answer line per non-empty input line. */
async function scoreLines(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  model: Pick<Awaited<ReturnType<TabularPredictors['hold']>>, 'manifest' | 'predict'>,
  write: (lines: string) => Promise<unknown>,
): Promise<void> {
  let pending: { line: number; row: Record<string, unknown> }[] = [];
  let answers: string[] = [];
  const flush = async () => {
    const predictions = pending.length > 0 ? await model.predict(pending.map((p) => p.row)) : [];
    pending.forEach((p, i) => answers.push(JSON.stringify({ line: p.line, ...predictions[i] })));
    if (answers.length > 0) await write(`${answers.join('\n')}\n`);
    pending = [];
    answers = [];
  };
  // answers go out in line order: an error line waits for the rows scored before it
  const refuse = async (line: number, message: string, field?: string) => {
    await flush();
    answers.push(JSON.stringify({ line, error: 'invalid_row', ...(field ? { field } : {}), message }));
  };
  let bytes = 0;
  let number = 0;
  let rest = '';
  const decoder = new TextDecoder();
  const handle = async (text: string) => {
    number++;
    if (!text.trim()) return;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      return refuse(number, `line ${number} is not JSON`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return refuse(number, `line ${number} is not a JSON object`);
    const problem = rowProblem(model.manifest.encoding, row as Record<string, unknown>, '');
    if (problem) return refuse(number, `line ${number}: ${problem.message}`, problem.field);
    pending.push({ line: number, row: row as Record<string, unknown> });
    if (pending.length >= BATCH_ROWS) await flush();
  };
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    if (bytes > maxBytes) {
      await flush();
      await write(`${JSON.stringify({ error: 'payload_too_large', message: `the body is larger than ${maxBytes} bytes: lines after ${number} were not read` })}\n`);
      return;
    }
    const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n');
    rest = lines.pop()!;
    for (const line of lines) await handle(line);
  }
  rest += decoder.decode();
  if (rest) await handle(rest);
  await flush();
}

