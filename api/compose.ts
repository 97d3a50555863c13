/**
 * The API's composition root: the one place that reads the config for the API and builds every
 * service the API process runs (uploads and their results, training files, finance bulk jobs, image datasets,
 * analytics, the ingestor, live streams, online predictors, tokens), once, into one `ApiDeps`.
 * api/server.ts serves what it builds; tests build their app through it too.
 */
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { FinanceBulk } from '../connectors/sources/finance-bulk/bulk.ts';
import { ImageDatasets } from '../connectors/sources/image-search/image-datasets.ts';
import { TrainingFiles } from '../connectors/sources/training-files/training-files.ts';
import { UploadResults } from '../connectors/sources/uploads/results.ts';
import { Uploads } from '../connectors/sources/uploads/uploads.ts';
import { loadCatalogue } from '../core/catalogue.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { trustedCrawlHosts, type Config } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import type { Pool } from '../core/postgres.ts';
import type { AvroProducer } from '../core/producer.ts';
import type { Registry } from '../core/schema-registry.ts';
import { datasetsDirOf } from '../domain/images/image-store.ts';
import type { ErasureDeps } from '../domain/tenants/erasure.ts';
import { erasureLayout } from '../domain/tenants/erasure-layout.ts';
import { TabularPredictors } from '../models/tabular/predictor.ts';
import { Analytics } from './analytics/run-query.ts';
import { jwtSecret } from './auth/secret.ts';
import { createTokens } from './auth/tokens.ts';
import { createApp, type App } from './app.ts';
import type { ApiDeps, ApiSettings, StreamDeps } from './deps.ts';
import { Ingestor } from './ingest.ts';
import { QueryGate } from './query-gate.ts';
import { RateCounter } from './rate-limit.ts';
import { serviceChecks } from './readiness.ts';
import { statementsTopicOf } from './statements-topic.ts';

/** The connections the API's services share; the caller opens and closes them. */
export interface ApiClients {
  kafka: Kafka;
  registry: Registry;
  /** connected */
  producer: AvroProducer;
  /** connected */
  admin: Admin;
  db: Pool;
  clickhouse: ClickHouseClient;
}

/** Services or settings given instead of the ones the root would build (a test's temp folder, a faster poll). */
export type ApiOverrides = Partial<Omit<ApiDeps, 'settings' | 'streams'>> & {
  settings?: Partial<ApiSettings>;
  streams?: Partial<StreamDeps>;
  /** dropping a tenant's SQL user when it is erased: infra/sql-users, which only bin/ may hand in */
  dropSqlUser?: ErasureDeps['dropSqlUser'];
};

/** The settings of the app and its routes, from the config. */
export function apiSettingsOf(config: Config): ApiSettings {
  return {
    bodyLimitBytes: config.API_BODY_LIMIT_BYTES,
    uploadMaxBytes: config.UPLOAD_MAX_BYTES,
    rateLimitPerIp: config.RATE_LIMIT_PER_IP,
    rateLimitPerKey: config.RATE_LIMIT_PER_KEY,
    signupMode: config.SIGNUP_MODE,
    signupRateLimitPerIp: config.SIGNUP_RATE_LIMIT_PER_IP,
    corsOrigins: config.CORS_ORIGINS,
    progressIntervalMs: 1000,
    jobEventPollMs: 250,
    drift: { windowHours: config.MODEL_DRIFT_WINDOW_HOURS, threshold: config.MODEL_DRIFT_PSI_THRESHOLD },
  };
}

/**
 * Builds every in-process service of the API once, from the config and the shared clients; a
 * service in `overrides` is used as given instead of being built (a given `queries` gate serves
 * analytics too).
 *
 * @example
 * ```ts
 * const deps = buildApiDeps(loadConfig(), { kafka, registry, producer, admin, db, clickhouse });
 * const app = createApp(deps);
 * ```
 */
export function buildApiDeps(config: Config, clients: ApiClients, overrides: ApiOverrides = {}): ApiDeps {
  const { kafka, registry, producer, admin, db, clickhouse } = clients;
  const { settings, streams, dropSqlUser, ...services } = overrides;
  const log = services.log ?? createLogger('api');
  const topics = services.topics ?? loadCatalogue();
  const ingestor = services.ingestor ?? new Ingestor(registry, producer, admin);
  const uploads =
    services.uploads ?? new Uploads(db, path.join(config.MILLRACE_HOME, 'uploads'), producer, createLogger('uploads'));
  const queries =
    services.queries ??
    new QueryGate(
      { clickhouse, db },
      {
        cacheTtlMs: config.ANALYTICS_CACHE_TTL_MS,
        cacheStaleMs: config.ANALYTICS_CACHE_STALE_MS,
        refreshConcurrency: config.ANALYTICS_CACHE_REFRESHES,
        cacheBytes: config.ANALYTICS_CACHE_MB * 1024 * 1024,
        inFlightPerTenant: config.QUERY_IN_FLIGHT_PER_TENANT,
        queuedPerTenant: config.QUERY_QUEUE_PER_TENANT,
        timeLimitS: config.QUERY_TIME_LIMIT_S,
      },
    );
  return {
    log,
    settings: { ...apiSettingsOf(config), ...settings },
    db,
    clickhouse,
    topics,
    checks: serviceChecks({ kafka, registry, clickhouse, postgres: db }),
    tokens: createTokens({
      secret: jwtSecret(config),
      accessTtlS: config.ACCESS_TOKEN_TTL_S,
      refreshTtlS: config.REFRESH_TOKEN_TTL_S,
    }),
    ingestor,
    streams: { kafka, registry, log, heartbeatMs: 15_000, slowClientMs: 10_000, ...streams },
    uploads,
    uploadResults: new UploadResults(uploads, db, clickhouse),
    trainingFiles: new TrainingFiles(
      db,
      clickhouse,
      path.join(config.MILLRACE_HOME, 'training-files'),
      log.child({ component: 'training-files' }),
    ),
    financeBulk: new FinanceBulk(
      db,
      path.join(config.MILLRACE_HOME, 'finance-bulk'),
      ingestor,
      statementsTopicOf(topics),
      log.child({ component: 'finance-bulk' }),
    ),
    imageDatasets: new ImageDatasets({
      db,
      producer,
      clickhouse,
      log: createLogger('datasets'),
      searchEndpoints: config.CRAWL_SEARCH_ENDPOINTS,
      root: datasetsDirOf(config),
      fetcher: {
        ratePerSecondPerHost: config.CRAWL_RATE_PER_HOST,
        concurrencyPerHost: config.CRAWL_CONCURRENCY_PER_HOST,
        allowedHosts: trustedCrawlHosts(config),
      },
    }),
    queries,
    analytics: new Analytics(queries),
    rateCounter: services.rateCounter ?? new RateCounter(db),
    // a model loads on its first prediction; its LISTEN connection does not keep a process alive
    predictors: new TabularPredictors(db, log, config.PREDICT_BATCH_WINDOW_MS),
    erasure: { db, clickhouse, kafka, registry, ...erasureLayout(config, topics), dropSqlUser },
    ...services,
  };
}

/**
 * The app and the services behind it, built through `buildApiDeps`: what api/server.ts serves
 * and what tests call in process.
 *
 * @example
 * ```ts
 * const { app, deps } = composeApi(loadConfig(), clients, { log: createLogger('test') });
 * const response = await app.request('/healthz');
 * ```
 */
export function composeApi(
  config: Config,
  clients: ApiClients,
  overrides: ApiOverrides = {},
): { app: App; deps: ApiDeps } {
  const deps = buildApiDeps(config, clients, overrides);
  return { app: createApp(deps), deps };
}
