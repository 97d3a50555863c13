/**
 * Training runs: the tenant's finished training jobs as experiments, each with its parameters and
 * held-out metrics, and two of them side by side (what changed, and each metric's delta).
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { compareRuns } from '../../models/tabular/run-compare.ts';
import { getJob, type TrainingJob } from '../../models/tabular/training-jobs.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json } from '../schemas.ts';
import { jobPage, PageQuery } from './training-jobs.ts';

const route = guardedRoutes('models');

const Metrics = z.record(z.string(), z.number());
const RunSchema = z
  .object({
    job_id: z.string(),
    model_id: z.string(),
    model_version: z.string().nullable(),
    dataset: z.string(),
    dataset_version: z.number().int(),
    algorithm: z.string(),
    params: z.record(z.string(), z.unknown()),
    metrics: Metrics.openapi({
      description: 'held-out: accuracy, auc, log_loss, calibration_error, rows, positive_rate',
    }),
    majority_baseline: Metrics.nullable(),
    training_ms: z.number().nullable(),
    created_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .openapi('TrainingRun');

const Value = z.unknown().openapi({ description: 'null: the run has no such parameter' });
const ComparisonSchema = z
  .object({
    a: RunSchema,
    b: RunSchema,
    changed: z.array(z.string()).openapi({ description: 'the parameters whose values differ' }),
    params: z.array(z.object({ name: z.string(), a: Value, b: Value, changed: z.boolean() })),
    metrics: z.array(
      z.object({
        name: z.string(),
        a: z.number(),
        b: z.number(),
        delta: z.number().openapi({ description: 'b - a' }),
        better: z
          .enum(['a', 'b'])
          .nullable()
          .openapi({ description: 'the run this metric favours; null if equal or it has no better direction' }),
      }),
    ),
  })
  .openapi('TrainingRunComparison');

const numbers = (value: unknown): Record<string, number> | null =>
  value && typeof value === 'object'
    ? Object.fromEntries(Object.entries(value).filter((e): e is [string, number] => typeof e[1] === 'number'))
    : null;

/** A job with metrics as a run (its metrics are the manifest's: holdout, majority_baseline, training_ms). */
const runJson = (job: TrainingJob & { metrics: Record<string, unknown> }) => ({
  job_id: job.id,
  model_id: job.model_id,
  model_version: job.model_version,
  dataset: job.dataset_name,
  dataset_version: job.dataset_version,
  algorithm: job.algorithm,
  params: job.params,
  metrics: numbers(job.metrics.holdout) ?? {},
  majority_baseline: numbers(job.metrics.majority_baseline),
  training_ms: typeof job.metrics.training_ms === 'number' ? job.metrics.training_ms : null,
  created_at: job.created_at.toISOString(),
  finished_at: job.finished_at?.toISOString() ?? null,
});

const listRunsRoute = route.get('/v1/training-runs', {
  summary: "The tenant's training runs (jobs with held-out metrics), newest first: params and metrics of each",
  request: { query: PageQuery },
  responses: {
    200: json(z.object({ runs: z.array(RunSchema), next_cursor: z.string().nullable() }), 'a page of runs'),
  },
  errors: [400],
});

const compareRoute = route.get('/v1/training-runs/compare', {
  summary: 'Two runs side by side: both runs, the parameters that changed, and each held-out metric with b - a',
  request: { query: z.object({ a: z.uuid(), b: z.uuid() }) },
  responses: { 200: json(ComparisonSchema, 'the comparison') },
  errors: [400, 404, 409],
});

export function registerTrainingRuns(app: OpenAPIHono<AuthEnv>, { db }: Pick<ApiDeps, 'db'>, guards: Guards): void {
  app.openapi({ ...listRunsRoute, middleware: guards.read }, async (c) => {
    const page = await jobPage(db, c.get('principal').tenantId, c.req.valid('query'), true);
    const runs = page.jobs.map((job) => runJson(job as TrainingJob & { metrics: Record<string, unknown> }));
    return c.json({ runs, next_cursor: page.next_cursor }, 200);
  });
  app.openapi({ ...compareRoute, middleware: guards.read }, async (c) => {
    const tenantId = c.get('principal').tenantId;
    const query = c.req.valid('query');
    const runOf = async (field: 'a' | 'b') => {
      const job = await getJob(db, tenantId, query[field]);
      if (!job) throw new ApiError(404, 'not_found', `no training job ${query[field]} for this tenant`, field);
      if (!job.metrics)
        throw new ApiError(
          409,
          'conflict',
          `training job ${job.id} is ${job.status}: it has no held-out metrics`,
          field,
        );
      return runJson({ ...job, metrics: job.metrics });
    };
    const [a, b] = [await runOf('a'), await runOf('b')];
    return c.json({ a, b, ...compareRuns(a, b) }, 200);
  });
}
