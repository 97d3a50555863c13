/**
 * Shared by the model-platform tests: an app with a fresh tenant (uploads and training files in
 * temporary folders, any service or setting overridden), and flights of a known rule in ClickHouse.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { App } from '../api/app.ts';
import { loadConfig } from '../core/config.ts';
import { composeApi, type ApiOverrides } from '../api/compose.ts';
import { createKey, createTenant } from '../api/auth/accounts.ts';
import { TrainingFiles } from '../connectors/sources/training-files/training-files.ts';
import { Uploads } from '../connectors/sources/uploads/uploads.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../core/logger.ts';
import type { Pool } from '../core/postgres.ts';
import { AvroProducer } from '../core/producer.ts';
import type { Registry } from '../core/schema-registry.ts';

export interface TestApi {
  tenant: string;
  keys: { admin: string; analyst: string; reader: string };
  app: App;
  /** `body` is sent as JSON, `raw` as it is under `contentType`; `headers` are added. */
  call(
    url: string,
    key: string,
    init?: {
      method?: string;
      body?: unknown;
      raw?: string | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>;
      contentType?: string;
      headers?: Record<string, string>;
    },
  ): Promise<Response>;
  close(): Promise<void>;
}

export async function testApi(
  deps: { db: Pool; clickhouse: ClickHouseClient; kafka: Kafka; registry: Registry; log: Logger },
  label: string,
  config = loadConfig(),
  overrides: ApiOverrides = {},
): Promise<TestApi> {
  const { db, clickhouse, kafka, registry, log } = deps;
  const producer = new AvroProducer(kafka, registry);
  const admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  const uploads = new Uploads(db, await mkdtemp(path.join(tmpdir(), 'millrace-uploads-')), producer, log);
  const app = composeApi(
    config,
    { kafka, registry, producer, admin, db, clickhouse },
    {
      log,
      uploads,
      trainingFiles: new TrainingFiles(
        db,
        clickhouse,
        await mkdtemp(path.join(tmpdir(), 'millrace-training-files-')),
        log,
      ),
      ...overrides,
    },
  ).app;
  const tenant = `${label}-${randomBytes(4).toString('hex')}`;
  await createTenant(db, tenant);
  const keys = {
    admin: (await createKey(db, tenant, 'admin')).key,
    analyst: (await createKey(db, tenant, 'analyst')).key,
    reader: (await createKey(db, tenant, 'reader')).key,
  };
  // in-process requests have no socket: a client address of their own keeps this tenant's requests out of the
  // per-IP rate limit that every other in-process caller on this database shares
  const connection = { incoming: { socket: { remoteAddress: `test:${tenant}` } } };
  return {
    tenant,
    keys,
    app,
    call: (url, key, init = {}) =>
      Promise.resolve(
        app.request(
          url,
          {
            method: init.method ?? (init.body === undefined && init.raw === undefined ? 'GET' : 'POST'),
            headers: {
              authorization: `Bearer ${key}`,
              'content-type': init.contentType ?? 'application/json',
              ...init.headers,
            },
            body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
            ...(init.raw instanceof ReadableStream ? { duplex: 'half' } : {}),
          },
          connection,
        ),
      ),
    close: async () => {
      await Promise.all([producer.disconnect(), admin.disconnect()]);
    },
  };
}

/** A deterministic pseudo-random stream in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const ORIGINS = ['ORD', 'ATL', 'DFW', 'LAX', 'SFO', 'DEN'];

/**
 * Flights whose delay follows a known rule: later hours, longer distances and origin ORD delay
 * more; weekday does not matter. The label `delay > 15` is a noisy logistic function of them.
 */
export function ruledFlights(tenant: string, count: number, seed = 7): Record<string, unknown>[] {
  const next = random(seed);
  const start = Date.UTC(2026, 0, 5); // a Monday
  return Array.from({ length: count }, (_, i) => {
    const hour = Math.floor(next() * 24);
    const day = Math.floor(next() * 28);
    const distance = Math.round(100 + next() * 2400);
    const origin = ORIGINS[Math.floor(next() * ORIGINS.length)]!;
    const score = -3 + 0.18 * hour + 0.001 * distance + (origin === 'ORD' ? 1.5 : 0);
    const delayed = next() < 1 / (1 + Math.exp(-score));
    return {
      id: `${tenant}-${i}`,
      tenant_id: tenant,
      event_time: Math.floor((start + day * 86_400_000 + hour * 3_600_000 + Math.floor(next() * 3_600_000)) / 1000),
      origin,
      destination: ORIGINS[Math.floor(next() * ORIGINS.length)]!,
      distance,
      delay: delayed ? 16 + Math.floor(next() * 90) : -10 + Math.floor(next() * 26),
      _topic: 'test',
      _partition: 0,
      _offset: i,
    };
  });
}

export async function insertFlights(clickhouse: ClickHouseClient, rows: Record<string, unknown>[]): Promise<void> {
  await clickhouse.insert({ table: 'samples_flights', values: rows, format: 'JSONEachRow' });
}

export const DELAY_DATASET = {
  table: 'samples_flights',
  features: ['hour', 'weekday', 'distance', 'origin'],
  label: { column: 'delay', op: '>', value: 15 },
  filter: [] as unknown[],
};
