/**
 * Training jobs: queued to models.training.requests (run by `millrace trainer`) with a priority,
 * listed newest first, read back with their status and metrics, followed over server-sent events,
 * and cancelled.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import type { SSEMessage } from 'hono/streaming';
import { topicByName } from '../../core/catalogue.ts';
import { MODEL_ID } from '../../models/model-registry.ts';
import { jobDataset } from '../../models/tabular/job-datasets.ts';
import { ALGORITHM_NAMES, parseParams } from '../../models/tabular/algorithms.ts';
import {
  cancelJob,
  createJob,
  EVENTS_TOPIC,
  getJob,
  JOB_STATUSES,
  jobEvents,
  listJobs,
  PRIORITY,
  REQUESTS_TOPIC,
  type JobCursor,
  type PublishEvent,
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
    priority: z
      .number()
      .int()
      .min(PRIORITY.min)
      .max(PRIORITY.max)
      .default(PRIORITY.default)
      .openapi({ description: 'trainers run the highest priority first, then the oldest' }),
  })
  .openapi('TrainingJobInput', {
    example: { dataset: 'flight-delays', algorithm: 'gradient_boosting', params: { trees: 100 }, priority: 0 },
  });
export const JobSchema = z
  .object({
    id: z.string(),
    status: z.enum(JOB_STATUSES),
    reason: z.string().nullable().openapi({ description: 'why it failed or was cancelled' }),
    priority: z.number().int(),
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
    cancel_requested_at: z
      .string()
      .nullable()
      .openapi({ description: 'when its cancel was asked for; a running job stops at its next step' }),
    created_at: z.string(),
    started_at: z.string().nullable().openapi({ description: 'when a trainer last claimed it' }),
    finished_at: z.string().nullable(),
  })
  .openapi('TrainingJob');

export const jobJson = (j: TrainingJob) => ({
  id: j.id,
  status: j.status,
  reason: j.reason,
  priority: j.priority,
  dataset: j.dataset_name,
  dataset_version: j.dataset_version,
  algorithm: j.algorithm,
  params: j.params,
  model_id: j.model_id,
  model_version: j.model_version,
  metrics: j.metrics,
  attempts: j.attempts,
  cancel_requested_at: j.cancel_requested_at?.toISOString() ?? null,
  created_at: j.created_at.toISOString(),
  started_at: j.started_at?.toISOString() ?? null,
  finished_at: j.finished_at?.toISOString() ?? null,
});

/** A page's next_cursor: the last job's created_at (as Postgres writes it) and id, base64url. */
const encodeCursor = (cursor: JobCursor) => Buffer.from(`${cursor.created_at}|${cursor.id}`).toString('base64url');

const CURSOR =
  /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?[+-]\d\d(?::\d\d)?)\|([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})$/;
const badCursor = () => new ApiError(400, 'invalid_request', 'cursor: not a next_cursor this API gave', 'cursor');

function decodeCursor(cursor: string): JobCursor {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw badCursor();
  return { created_at: match[1]!, id: match[2]! };
}

/** Postgres refusing a cursor's time (say, February 30th): datetime_field_overflow, invalid_datetime_format. */
const isBadTime = (error: unknown) => ['22008', '22007'].includes((error as { code?: string }).code ?? '');

/** Paging of the jobs and runs lists. */
export const PageQuery = z.object({
  model: z
    .string()
    .regex(MODEL_ID, 'a model id: lower-case letters, digits, ., - and _')
    .optional()
    .openapi({ description: 'the model: its registry id <tenant>.<model>, or <model>' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional().openapi({ description: 'next_cursor of the page before' }),
});

/** A page of the tenant's jobs newest first, with the cursor of the next. */
export async function jobPage(
  db: ApiDeps['db'],
  tenantId: string,
  query: z.output<typeof PageQuery> & { status?: TrainingJob['status'] },
  withMetrics = false,
): Promise<{ jobs: TrainingJob[]; next_cursor: string | null }> {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const { jobs, next } = await listJobs(db, tenantId, {
    status: query.status,
    // a tenant's model ids are <tenant>.<model>: another tenant's id finds nothing, as an unknown one
    model_id: query.model === undefined || query.model.includes('.') ? query.model : `${tenantId}.${query.model}`,
    withMetrics,
    limit: query.limit,
    after,
  }).catch((error: unknown) => {
    throw after && isBadTime(error) ? badCursor() : error;
  });
  return { jobs, next_cursor: next && encodeCursor(next) };
}

const JobParams = z.object({ id: z.uuid() });
/** A job's routes: a malformed id is a 400, one the tenant does not have a 404. */
const byId = itemRoutes('models', JobParams, [400, 404]);
const TERMINAL = new Set(['done', 'failed', 'cancelled']);

const createJobRoute = route.post('/v1/training-jobs', {
  summary: 'Train a model on a dataset: queued to models.training.requests and run by a `millrace trainer`',
  request: { body: jsonBody(JobInput) },
  responses: { 202: json(JobSchema.extend({ events: z.string() }), 'queued') },
  errors: [400, 404],
});

const listJobsRoute = route.get('/v1/training-jobs', {
  summary: "The tenant's training jobs, newest first, by status and model; next_cursor goes on",
  request: { query: PageQuery.extend({ status: z.enum(JOB_STATUSES).optional() }) },
  responses: {
    200: json(z.object({ jobs: z.array(JobSchema), next_cursor: z.string().nullable() }), 'a page of jobs'),
  },
  errors: [400],
});

const cancelJobRoute = byId.post('/v1/training-jobs/{id}/cancel', {
  summary:
    'Cancel a job: a queued one (or a running one whose trainer died) ends cancelled at once (200); a running one is flagged and its trainer stops at its next step, registering nothing (202). One that ended, or has registered its version, is a 409',
  responses: {
    200: json(JobSchema, 'cancelled'),
    202: json(JobSchema, 'cancel requested: follow its events to cancelled'),
  },
  errors: [409],
});

const getJobRoute = byId.get('/v1/training-jobs/{id}', {
  summary: 'A training job: status (and why it failed), the registered version and its held-out metrics',
  responses: { 200: json(JobSchema, 'the job') },
});

const jobEventsRoute = byId.get('/v1/training-jobs/{id}/events', {
  summary:
    "A job's events as server-sent events (queued, started, progress, evaluated, registered, done | failed | cancelled); ends after done, failed or cancelled. Resumes after Last-Event-ID.",
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
  const publishAs =
    (tenantId: string): PublishEvent =>
    (event) =>
      produce(EVENTS_TOPIC, tenantId, event);
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
    const { dataset } = await jobDataset(db, tenantId, input.dataset, input.dataset_version, input.algorithm);
    const job = {
      id: randomUUID(),
      tenant_id: tenantId,
      dataset_name: dataset.name,
      dataset_version: dataset.version,
      algorithm: input.algorithm,
      params: params.data,
      model_id: `${tenantId}.${input.model ?? `${dataset.name}-${input.algorithm.replace('_', '-')}`}`,
      priority: input.priority,
    };
    // the row first, so the job is visible at once (with its priority: the request record has
    // none, and a delivered request never changes a job that exists); the record wakes a trainer
    await createJob(db, publishAs(tenantId), job);
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
  app.openapi({ ...listJobsRoute, middleware: guards.read }, async (c) => {
    const page = await jobPage(db, c.get('principal').tenantId, c.req.valid('query'));
    return c.json({ jobs: page.jobs.map(jobJson), next_cursor: page.next_cursor }, 200);
  });
  app.openapi({ ...cancelJobRoute, middleware: guards.analytics }, async (c) => {
    const tenantId = c.get('principal').tenantId;
    const { id } = c.req.valid('param');
    const cancelled = await cancelJob(db, publishAs(tenantId), tenantId, id);
    if (!cancelled) throw new ApiError(404, 'not_found', `no training job ${id} for this tenant`, 'id');
    switch (cancelled.outcome) {
      case 'cancelled':
        return c.json(jobJson(cancelled.job), 200);
      case 'cancelling':
        return c.json(jobJson(cancelled.job), 202);
      case 'registered':
        throw new ApiError(
          409,
          'conflict',
          `training job ${id} has registered ${cancelled.job.model_id} version ${cancelled.version} and is finishing: too late to cancel`,
          'id',
        );
      case 'ended':
        throw new ApiError(
          409,
          'conflict',
          `training job ${id} is ${cancelled.job.status}: only a queued or running job can be cancelled`,
          'id',
        );
    }
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
