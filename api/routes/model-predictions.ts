/**
 * Predictions with the active version of one of the tenant's trained models: a few rows as JSON
 * (`predict`), or many as a stream of JSON lines (`batch`, scored by api/batch-scoring.ts).
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { stream } from 'hono/streaming';
import type { AuthEnv } from '../auth/middleware.ts';
import { scoreLines } from '../batch-scoring.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { itemRoutes } from '../route-spec.ts';
import { json, jsonBody } from '../schemas.ts';
import { params } from './models.ts';

/** A model's routes: a malformed request is a 400, an id the tenant has no model of a 404. */
const byId = itemRoutes('models', params.pick({ id: true }), [400, 404]);

const PredictInput = z
  .object({
    rows: z
      .array(z.record(z.string(), z.unknown()))
      .min(1)
      .max(1000)
      .openapi({ description: 'feature values by name, as the dataset names them' }),
  })
  .openapi('PredictInput', { example: { rows: [{ hour: 18, weekday: 5, distance: 740, origin: 'ORD' }] } });
const PredictOutput = z
  .object({
    model_id: z.string(),
    version: z.string().openapi({ description: 'the active version that answered' }),
    predictions: z.array(
      z.union([
        z
          .object({
            label: z.union([z.literal(0), z.literal(1)]),
            probability: z.number().openapi({ description: 'P(label = 1)' }),
          })
          .openapi({ description: 'a classifier on a dataset of whitelisted tables (label rule: 1 or 0)' }),
        z
          .object({
            label: z.string().openapi({ description: 'the most probable class' }),
            probabilities: z.record(z.string(), z.number()).openapi({ description: 'each class, by name' }),
          })
          .openapi({ description: "a classifier on the tenant's own data" }),
        z
          .object({ prediction: z.number() })
          .openapi({ description: "a regression on the tenant's own data: the target's predicted value" }),
      ]),
    ),
  })
  .openapi('Predictions');

const predictRoute = byId.post('/v1/models/{id}/predict', {
  summary:
    "Predict with the active version of one of the tenant's trained models; follows activations without a restart",
  request: { body: jsonBody(PredictInput) },
  responses: { 200: json(PredictOutput, 'one prediction per row, in order') },
});

const batchRoute = byId.post('/v1/models/{id}/batch', {
  summary:
    'Score many rows: a JSON-lines body (one row object a line, streamed, up to UPLOAD_MAX_BYTES) gets a JSON-lines answer, ' +
    '`{"line", "label", "probability"}` or `{"line", "error", "field"?, "message"}` for each non-empty line, in order; every row by the ' +
    'version active when the request began (header x-model-version)',
  idempotent: false, // a streamed body (api/streamed-bodies.ts)
  request: { body: { required: true, content: { 'application/x-ndjson': { schema: z.string() } } } },
  // no content schema: zod-openapi would take a *json* media type for one answer of c.json()
  responses: { 200: { description: 'JSON lines (application/x-ndjson), one answer per non-empty input line' } },
});

export function registerModelPredictions(
  app: OpenAPIHono<AuthEnv>,
  { predictors, settings, log }: Pick<ApiDeps, 'predictors' | 'settings' | 'log'>,
  guards: Guards,
): void {
  app.openapi({ ...predictRoute, middleware: guards.read }, async (c) => {
    const { id } = c.req.valid('param');
    const { version, predictions } = await predictors.predict(
      id,
      c.get('principal').tenantId,
      c.req.valid('json').rows,
    );
    return c.json({ model_id: id, version, predictions }, 200);
  });
  app.openapi({ ...batchRoute, middleware: guards.read }, async (c) => {
    const body = c.req.raw.body;
    if (!body) throw new ApiError(400, 'invalid_request', 'the body must be JSON lines, one row object a line');
    const held = await predictors.hold(c.req.valid('param').id, c.get('principal').tenantId);
    c.header('content-type', 'application/x-ndjson');
    c.header('x-model-version', held.version);
    return stream(
      c,
      async (out) => {
        try {
          await scoreLines(body, settings.uploadMaxBytes, held, (lines) => out.write(lines));
        } finally {
          held.release();
        }
      },
      async (error, out) => {
        log.error({ err: error, request_id: c.get('requestId') }, 'batch scoring failed');
        await out.write(
          `${JSON.stringify({ error: 'internal', message: 'scoring stopped; see the server log for this request id' })}\n`,
        );
      },
    );
  });
}
