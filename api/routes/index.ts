/** The one list of route modules: each registers one resource's routes on the app from the built services. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { registerAnalytics } from './analytics.ts';
import { registerAuth } from './auth.ts';
import { registerCompanies } from './companies.ts';
import { registerConsole } from './console.ts';
import { registerDeadLetters } from './dead-letters.ts';
import { registerGenreModelJobs } from './genre-model-jobs.ts';
import { registerHealth } from './health.ts';
import { registerImageDatasets } from './image-datasets.ts';
import { registerInvitations } from './invitations.ts';
import { registerJobs } from './jobs.ts';
import { registerKeys } from './keys.ts';
import { registerMarketQueries } from './market-queries.ts';
import { registerModelPredictions } from './model-predictions.ts';
import { registerMe } from './me.ts';
import { registerMembers } from './members.ts';
import { registerModelFiles } from './model-files.ts';
import { registerModels } from './models.ts';
import { registerPipelines } from './pipelines.ts';
import { registerPredictionBulk } from './prediction-bulk.ts';
import { registerPredictions } from './predictions.ts';
import { registerSessions } from './sessions.ts';
import { registerShadows } from './shadows.ts';
import { registerStocks } from './stocks.ts';
import { registerStreams } from './streams.ts';
import { registerTaxonomies } from './taxonomies.ts';
import { registerTenantErasure } from './tenant-erasure.ts';
import { registerTopicRecords } from './topic-records.ts';
import { registerTopics } from './topics.ts';
import { registerTrainingDatasets } from './training-datasets.ts';
import { registerTrainingFiles } from './training-files.ts';
import { registerTrainingJobs } from './training-jobs.ts';
import { registerTrainingRuns } from './training-runs.ts';
import { registerUploadResults } from './upload-results.ts';
import { registerUploads } from './uploads.ts';
import { registerVersions } from './versions.ts';

type Register = (app: OpenAPIHono<AuthEnv>, deps: ApiDeps, guards: Guards) => void;

/** In registration order (the order of /openapi.json). */
const ROUTES: readonly Register[] = [
  (app, deps) => registerHealth(app as unknown as OpenAPIHono, deps),
  (app, deps) => registerAuth(app as unknown as OpenAPIHono, deps),
  registerMe,
  registerKeys,
  registerMembers,
  registerInvitations,
  registerSessions,
  registerTenantErasure,
  registerTopics,
  registerStreams,
  registerStocks,
  registerMarketQueries,
  registerModels,
  registerVersions,
  registerModelFiles,
  registerShadows,
  registerModelPredictions,
  registerUploads,
  registerPredictions,
  registerPredictionBulk,
  registerCompanies,
  registerJobs,
  registerTaxonomies,
  registerGenreModelJobs,
  registerUploadResults,
  registerAnalytics,
  (app) => registerConsole(app),
  registerImageDatasets,
  registerTrainingFiles,
  registerTrainingDatasets,
  registerTrainingJobs,
  registerTrainingRuns,
  registerDeadLetters,
  registerPipelines,
  registerTopicRecords,
];

/**
 * Registers every resource's routes.
 *
 * @example
 * ```ts
 * registerRoutes(app, deps, guards);
 * ```
 */
export function registerRoutes(app: OpenAPIHono<AuthEnv>, deps: ApiDeps, guards: Guards): void {
  for (const register of ROUTES) register(app, deps, guards);
}
