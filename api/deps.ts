/**
 * What the API's route modules stand on: `ApiDeps`, built once by the composition root
 * (api/compose.ts), and `Guards`, the middleware chains the app puts in front of a route by the
 * permission it needs. Types only: a route module imports these and never builds a service.
 */
import type { MiddlewareHandler } from 'hono';
import type { Kafka } from 'kafkajs';
import type { FinanceBulk } from '../connectors/sources/finance-bulk/bulk.ts';
import type { ImageDatasets } from '../connectors/sources/image-search/image-datasets.ts';
import type { TrainingFiles } from '../connectors/sources/training-files/training-files.ts';
import type { UploadResults } from '../connectors/sources/uploads/results.ts';
import type { Uploads } from '../connectors/sources/uploads/uploads.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { Logger } from '../core/logger.ts';
import type { Pool } from '../core/postgres.ts';
import type { Registry } from '../core/schema-registry.ts';
import type { ResolvedTopic } from '../core/topic-checks.ts';
import type { ErasureDeps } from '../domain/tenants/erasure.ts';
import type { TabularPredictors } from '../models/tabular/predictor.ts';
import type { Analytics } from './analytics/run-query.ts';
import type { AuthEnv } from './auth/middleware.ts';
import type { Permission } from './auth/roles.ts';
import type { SignupMode } from './auth/signup.ts';
import type { Tokens } from './auth/tokens.ts';
import type { Ingestor } from './ingest.ts';
import type { QueryGate } from './query-gate.ts';
import type { RateCounter } from './rate-limit.ts';
import type { Check } from './readiness.ts';

/** What the live streams (GET /v1/streams/{topic}) consume with, and how they pace a client. */
export interface StreamDeps {
  kafka: Kafka;
  registry: Registry;
  log: Logger;
  heartbeatMs: number;
  slowClientMs: number;
}

/** The settings the app and its routes read, taken from the config by the composition root. */
export interface ApiSettings {
  /** largest JSON body (API_BODY_LIMIT_BYTES) */
  bodyLimitBytes: number;
  /** largest streamed body: uploads, training files, bulk predictions, batch scoring (UPLOAD_MAX_BYTES) */
  uploadMaxBytes: number;
  rateLimitPerIp: number;
  rateLimitPerKey: number;
  /** who may sign up (SIGNUP_MODE), and how often per client IP (SIGNUP_RATE_LIMIT_PER_IP) */
  signupMode: SignupMode;
  signupRateLimitPerIp: number;
  corsOrigins: readonly string[];
  /** how often progress streams (uploads, image datasets) poll, and training job events */
  progressIntervalMs: number;
  jobEventPollMs: number;
  /** feature drift: the scored window's default length and the PSI above which a feature drifts */
  drift: { windowHours: number; threshold: number };
}

/** Every service the API process runs, built once. */
export interface ApiDeps {
  log: Logger;
  settings: ApiSettings;
  db: Pool;
  clickhouse: ClickHouseClient;
  topics: readonly ResolvedTopic[];
  checks: Record<string, Check>;
  tokens: Tokens;
  ingestor: Ingestor;
  streams: StreamDeps;
  uploads: Uploads;
  uploadResults: UploadResults;
  trainingFiles: TrainingFiles;
  financeBulk: FinanceBulk;
  imageDatasets: ImageDatasets;
  /** the one path of dashboard reads: coalescing, the per-tenant cache and fair share (api/query-gate.ts) */
  queries: QueryGate;
  /** the request counts of the per-IP and per-key limits, shared with other instances through Postgres */
  rateCounter: RateCounter;
  analytics: Analytics;
  predictors: TabularPredictors;
  /** what erasing a tenant (DELETE /v1/tenant) reaches */
  erasure: ErasureDeps;
}

/** The middleware chain in front of a route, by the permission it needs (authenticate -> per-key limit -> permission). */
export type Guards = Record<Permission, MiddlewareHandler<AuthEnv>[]>;
