/**
 * The Hono app. Every request: request id -> access log -> security headers -> body limit ->
 * per-IP rate limit -> CORS; protected routes then: authenticate -> per-caller rate limit ->
 * permission -> validation (zod, the same schemas that generate /openapi.json) -> logic.
 * Every error is JSON `{error, message, field?, request_id}`.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { loadConfig } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { metricsRegistry } from '../core/metrics.ts';
import type { Pool } from '../core/postgres.ts';
import type { ResolvedTopic } from '../core/topic-checks.ts';
import { authenticate, requirePermission, type AuthEnv } from './auth/middleware.ts';
import type { Permission } from './auth/roles.ts';
import { docsPage } from './docs.ts';
import { ApiError, errorBody, errorResponse } from './errors.ts';
import type { Ingestor } from './ingest.ts';
import { rateLimit } from './rate-limit.ts';
import type { Check } from './readiness.ts';
import { registerAuth } from './routes/auth.ts';
import { registerHealth } from './routes/health.ts';
import { registerKeys } from './routes/keys.ts';
import { registerFinance } from './routes/predictions.ts';
import { registerModels } from './routes/models.ts';
import { registerStocks } from './routes/stocks.ts';
import { registerMarketQueries } from './routes/market-queries.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { registerStreams, type StreamDeps } from './routes/streams.ts';
import { registerTopics } from './routes/topics.ts';
import { registerUploads } from './routes/uploads.ts';
import { registerTaxonomies } from './routes/taxonomies.ts';
import type { Uploads } from '../connectors/sources/uploads/uploads.ts';
import type { UploadResults } from '../connectors/sources/uploads/results.ts';
import { registerUploadResults } from './routes/upload-results.ts';
import type { Analytics } from './analytics/run-query.ts';
import { registerAnalytics } from './routes/analytics.ts';
import { registerDashboard } from './routes/dashboard.ts';
import type { Datasets } from '../connectors/sources/image-search/image-datasets.ts';
import { registerDatasets } from './routes/image-datasets.ts';
import { registerTrainingDatasets, registerTrainingJobs } from './routes/training.ts';

export interface AppDeps {
  log: Logger;
  checks: Record<string, Check>;
  db: Pool;
  topics: readonly ResolvedTopic[];
  ingestor: Ingestor;
  streams: Omit<StreamDeps, 'log'>;
  uploads: Uploads;
  /** Progress and result files of uploads (they read ClickHouse); tests that need neither leave it out. */
  uploadResults?: UploadResults;
  /** Market bars and indicators (ClickHouse); tests that need none leave it out. */
  clickhouse?: ClickHouseClient;
  /** Dashboard queries on ClickHouse; tests that need none leave it out. */
  analytics?: Analytics;
  /** Image datasets (they crawl and publish); tests that need none leave it out. */
  datasets?: Datasets;
}

/**
 * The client's address, or undefined for a request that came through no socket (in-process
 * `app.request` in tests: all of them would share one bucket); the per-key limit still applies.
 */
function clientIp(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

export function createApp({ log, checks, db, topics, ingestor, streams, uploads, uploadResults, clickhouse, analytics, datasets }: AppDeps): OpenAPIHono<AuthEnv> {
  const config = loadConfig();
  const app = new OpenAPIHono<AuthEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const field = issue?.path.join('.') || result.target;
      throw new ApiError(400, 'invalid_request', `${result.target} ${field}: ${issue?.message ?? 'invalid'}`, field);
      // unreachable, but the hook's type wants a Response or void
      return c.body(null);
    },
  });

  app.use(requestId());
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const ms = Math.round(performance.now() - started);
    log.info({ request_id: c.get('requestId'), method: c.req.method, path: c.req.path, status: c.res.status, ms }, 'request');
  });
  app.use(secureHeaders());
  const limitBody = bodyLimit({
    maxSize: config.API_BODY_LIMIT_BYTES,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `the body is larger than ${config.API_BODY_LIMIT_BYTES} bytes`);
    },
  });
  // uploads (and bulk predictions) stream to disk, batch scoring streams through, under their own, larger cap (UPLOAD_MAX_BYTES)
  const streamedBodies = (path: string) => path === '/v1/uploads' || path === '/v1/predictions/bulk' || /^\/v1\/models\/[^/]+\/batch$/.test(path);
  app.use((c, next) => (c.req.method === 'POST' && streamedBodies(c.req.path) ? next() : limitBody(c, next)));
  app.use('/v1/*', rateLimit(db, config.RATE_LIMIT_PER_IP, (c) => {
      const ip = clientIp(c);
      return ip === undefined ? undefined : `ip:${ip}`;
    }));
  app.use(cors({ origin: config.CORS_ORIGINS.includes('*') ? '*' : config.CORS_ORIGINS, exposeHeaders: ['x-request-id', 'retry-after'] }));

  app.openAPIRegistry.registerComponent('securitySchemes', 'Bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'an API key (`mr_...`) or an access token from /v1/auth/login',
  });
  const guard = (permission: Permission) => [
    authenticate(db),
    rateLimit(db, config.RATE_LIMIT_PER_KEY, (c) => (c as Context<AuthEnv>).get('principal').subject),
    requirePermission(permission),
  ];

  registerHealth(app as unknown as OpenAPIHono, checks);
  registerAuth(app as unknown as OpenAPIHono, db);
  registerKeys(app, db, guard('manage_keys'));
  registerTopics(app, topics, ingestor, { read: guard('read'), ingest: guard('ingest') });
  registerStreams(app, topics, { ...streams, log }, guard('read'));
  registerStocks(app, db, { read: guard('read'), write: guard('ingest') });
  if (clickhouse) registerMarketQueries(app, { db, clickhouse }, guard('read'));
  registerModels(app, db, { read: guard('read'), activate: guard('manage_keys') }, log, clickhouse);
  registerUploads(app, uploads, config.UPLOAD_MAX_BYTES, { read: guard('read'), ingest: guard('ingest') });
  registerFinance(app, { db, topics, ingestor, log }, { read: guard('read'), ingest: guard('ingest') });
  registerTaxonomies(app, db, { read: guard('read'), write: guard('ingest') });
  if (uploadResults) registerUploadResults(app, uploadResults, guard('read'));
  if (analytics) registerAnalytics(app, analytics, { read: guard('read'), query: guard('analytics') });
  registerDashboard(app);
  if (datasets) registerDatasets(app, datasets, { read: guard('read'), write: guard('ingest') });
  if (clickhouse) registerTrainingDatasets(app, { db, clickhouse }, { read: guard('read'), write: guard('analytics') });
  registerTrainingJobs(app, { db, ingestor }, { read: guard('read'), write: guard('analytics') });

  app.get('/metrics', async (c) => c.text(await metricsRegistry.metrics(), 200, { 'content-type': metricsRegistry.contentType }));
  app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: 'Millrace API', version: '1' } });
  app.get('/docs', (c) => c.html(docsPage(app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'Millrace API', version: '1' } }))));

  app.notFound((c) => c.json(errorBody(c, 'not_found', `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((error, c) => errorResponse(c, error, log));
  return app;
}
