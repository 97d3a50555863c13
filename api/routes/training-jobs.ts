/**
 * Training jobs: queued to models.training.requests (run by `millrace trainer`), read back with
 * their status and metrics, and followed over server-sent events.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import type { SSEMessage } from 'hono/streaming';
import { topicByName } from '../../core/catalogue.ts';
import { getDataset } from '../../models/tabular/training-datasets.ts';
import { ALGORITHM_NAMES, parseParams } from '../../models/tabular/algorithms.ts';
import {
  createJob,
  EVENTS_TOPIC,
  getJob,
  jobEvents,
  REQUESTS_TOPIC,
  type TrainingJob,
} from '../../models/tabular/training-jobs.ts';
import type { TrainingRequest } from '../../models/tabular/trainer.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { pollingSSE } from '../polling-sse.ts';
import { guardedRoutes, itemRoutes } from '../route-spec.ts';
import { json, jsonBody, text } from '../schemas.ts';
import { NAME } from './training-datasets.ts';

const route = guardedRoutes('models');

const JobInput = z
  .object({
    dataset: NAME,
    dataset_version: z.number().int().min(1).optional().openapi({ description: 'default: the latest' }),
    algorithm: z.enum(ALGORITHM_NAMES),
    params: z
      .record(z.string(), z.unknown())
      .default({})
      .openapi({ description: "the algorithm's parameters; defaults fill the rest" }),
    model: NAME.optional().openapi({
      description: 'the model the version belongs to (registry id <tenant>.<model>); default <dataset>-<algorithm>',
    }),
  })
  .openapi('TrainingJobInput', {
    example: { dataset: 'flight-delays', algorithm: 'gradient_boosting', params: { trees: 100 } },
  });
const JobSchema = z
  .object({
    id: z.string(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    reason: z.string().nullable().openapi({ description: 'why it failed' }),
    dataset: z.string(),
    dataset_version: z.number().int(),
    algorithm: z.string(),
    params: z.record(z.string(), z.unknown()),
    model_id: z.string(),
    model_version: z.string().nullable(),
    metrics: z.record(z.string(), z.unknown()).nullable().openapi({
      description: 'held-out accuracy, AUC, log-loss, calibration error; the majority-class baseline; ONNX agreement',
    }),
    attempts: z.number().int(),
    created_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .openapi('TrainingJob');

const jobJson = (j: TrainingJob) => ({
  id: j.id,
  status: j.status,
  reason: j.reason,
  dataset: j.dataset_name,
  dataset_version: j.dataset_version,
  algorithm: j.algorithm,
  params: j.params,
  model_id: j.model_id,
  model_version: j.model_version,
  metrics: j.metrics,
  attempts: j.attempts,
  created_at: j.created_at.toISOString(),
  finished_at: j.finished_at?.toISOString() ?? null,
});

const JobParams = z.object({ id: z.uuid() });
/** A job's routes: a malformed id is a 400, one the tenant does not have a 404. */
const byId = itemRoutes('models', JobParams, [400, 404]);
const TERMINAL = new Set(['done', 'failed']);

const createJobRoute = route.post('/v1/training-jobs', {
  summary: 'Train a model on a dataset: queued to models.training.requests and run by a `millrace trainer`',
  request: { body: jsonBody(JobInput) },
  responses: { 202: json(JobSchema.extend({ events: z.string() }), 'queued') },
  errors: [400, 404],
});

const getJobRoute = byId.get('/v1/training-jobs/{id}', {
  summary: 'A training job: status (and why it failed), the registered version and its held-out metrics',
  responses: { 200: json(JobSchema, 'the job') },
});

const jobEventsRoute = byId.get('/v1/training-jobs/{id}/events', {
  summary:
    "A job's events as server-sent events (queued, started, progress, evaluated, registered, done | failed); ends after done or failed. Resumes after Last-Event-ID.",
  responses: { 200: text('text/event-stream', 'text/event-stream') },
});

export function registerTrainingJobs(
  app: OpenAPIHono<AuthEnv>,
  deps: Pick<ApiDeps, 'db' | 'ingestor' | 'settings'>,
  guards: Guards,
): void {
  const { db, settings } = deps;
  // through the Ingestor, as any client's records: checked against the topic's schema, keyed as the catalogue says
  const produce = async (topic: string, tenantId: string, value: { id: string }) => {
    const [result] = await deps.ingestor.ingest(topicByName(topic), tenantId, [value]);
    if (!result || 'error' in result)
      throw new Error(
        `${topic} refused a record of our own: ${result && 'message' in result ? result.message : 'no result'}`,
      );
  };
  const jobOf = async (tenantId: string, id: string) => {
    const job = await getJob(db, tenantId, id);
    if (!job) throw new ApiError(404, 'not_found', `no training job ${id} for this tenant`, 'id');
    return job;
  };
  app.openapi({ ...createJobRoute, middleware: guards.analytics }, async (c) => {
    const input = c.req.valid('json');
    const tenantId = c.get('principal').tenantId;
    const params = parseParams(input.algorithm, input.params);
    if (!params.success) {
      const issue = params.error.issues[0]!;
      const field = ['params', ...issue.path].join('.');
      throw new ApiError(400, 'invalid_request', `${field}: ${issue.message}`, field);
    }
    const dataset = await getDataset(db, tenantId, input.dataset, input.dataset_version, 'dataset');
    const job = {
      id: randomUUID(),
      tenant_id: tenantId,
      dataset_name: dataset.name,
      dataset_version: dataset.version,
      algorithm: input.algorithm,
      params: params.data,
      model_id: `${tenantId}.${input.model ?? `${dataset.name}-${input.algorithm.replace('_', '-')}`}`,
    };
    // the row first, so the job is visible at once; the record is what wakes a trainer
    await createJob(db, (event) => produce(EVENTS_TOPIC, tenantId, event), job);
    const request: Omit<TrainingRequest, 'tenant_id'> = {
      id: job.id,
      event_time: Date.now(),
      dataset_name: job.dataset_name,
      dataset_version: job.dataset_version,
      algorithm: job.algorithm,
      params_json: JSON.stringify(job.params),
      model_id: job.model_id,
    };
    await produce(REQUESTS_TOPIC, tenantId, request);
    const stored = (await getJob(db, tenantId, job.id))!;
    return c.json({ ...jobJson(stored), events: `/v1/training-jobs/${job.id}/events` }, 202);
  });
  app.openapi({ ...getJobRoute, middleware: guards.read }, async (c) =>
    c.json(jobJson(await jobOf(c.get('principal').tenantId, c.req.valid('param').id)), 200),
  );
  app.openapi({ ...jobEventsRoute, middleware: guards.read }, async (c) => {
    const job = await jobOf(c.get('principal').tenantId, c.req.valid('param').id);
    const lastSeen = c.req.header('last-event-id');
    let after = lastSeen && /^\d+$/.test(lastSeen) ? lastSeen : '0';
    // one job's events commit in seq order (models/tabular/jobs.ts), so each poll reads only those
    // after the last one sent: an index range that is empty between events
    return pollingSSE(
      c,
      async () => {
        const events: SSEMessage[] = [];
        for (const event of await jobEvents(db, job.id, after)) {
          events.push({
            event: event.kind,
            id: event.seq,
            data: JSON.stringify({ ...event.detail, at: event.created_at.toISOString() }),
          });
          after = event.seq;
          if (TERMINAL.has(event.kind)) return { events, done: true };
        }
        return { events, done: false };
      },
      settings.jobEventPollMs,
    );
  });
}
