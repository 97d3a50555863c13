/**
 * Trains both tabular algorithms on real flights (vega-datasets flights-3m.parquet) loaded through
 * the platform's own ingestion path: records produced to samples.flights.raw, landed in ClickHouse
 * by the samples-flights-clickhouse sink (run here under its own group). Prints load time, each
 * algorithm's training time and held-out metrics against the majority-class baseline, and the
 * online predict latency through the API (in process, the active version, batching included).
 * Label: delay > 15 minutes; features: hour, weekday, month, distance, origin, destination.
 *
 * Run: node --import tsx bench/train-flights.ts [--rows 200000 | --all] [--keep]
 *   --rows N  an evenly spread sample of N of the 3 million flights (default 200,000)
 *   --all     all of them (minutes of producing and loading)
 *   --keep    leave the bench tenant's rows in ClickHouse and its models in the registry
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { loadConfig } from '../core/config.ts';
import { composeApi } from '../api/compose.ts';
import { createKey, createTenant } from '../api/auth/accounts.ts';
import { Uploads } from '../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../core/clickhouse.ts';
import { sqlValue } from '../core/clickhouse-sql.ts';
import { createKafka } from '../core/kafka.ts';
import { createLogger } from '../core/logger.ts';
import { createPostgresPool } from '../core/postgres.ts';
import { AvroProducer } from '../core/producer.ts';
import { Registry } from '../core/schema-registry.ts';
import { activateVersion } from '../models/model-registry.ts';
import { ALGORITHM_NAMES, parseParams } from '../models/tabular/algorithms.ts';
import { saveDataset } from '../models/tabular/training-datasets.ts';
import { TabularPredictors } from '../models/tabular/predictor.ts';
import { trainOnDataset } from '../models/tabular/train.ts';
import { buildManifest, codeVersion, registerTrained } from '../models/tabular/version.ts';
import type { SampleFlight } from '../schemas/records/samples.ts';

const { values } = parseArgs({
  options: { rows: { type: 'string' }, all: { type: 'boolean' }, keep: { type: 'boolean' } },
});
const TOTAL = 3_000_000;
const wanted = values.all ? TOTAL : Number(values.rows ?? 200_000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const parquet = path.join(
  path.dirname(createRequire(import.meta.url).resolve('vega-datasets')),
  '..',
  'data',
  'flights-3m.parquet',
);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const print = (line: string) => process.stdout.write(`${line}\n`);

/** Every k-th flight of the file (it is in date order), so the sample spans the whole year. */
async function sample(tenant: string): Promise<SampleFlight[]> {
  const file = await asyncBufferFromFile(parquet);
  const rows = Number((await parquetMetadataAsync(file)).num_rows);
  const step = Math.max(1, Math.floor(rows / wanted));
  const flights: SampleFlight[] = [];
  for (let start = 0; start < rows && flights.length < wanted; start += 250_000) {
    const chunk = await parquetReadObjects({
      file,
      rowStart: start,
      rowEnd: Math.min(rows, start + 250_000),
      compressors,
    });
    for (let i = (step - (start % step)) % step; i < chunk.length && flights.length < wanted; i += step) {
      const f = chunk[i] as { date: Date; delay: bigint; distance: bigint; origin: string; destination: string };
      flights.push({
        id: `${tenant}-${start + i}`,
        tenant_id: tenant,
        event_time: f.date.getTime(),
        origin: f.origin,
        destination: f.destination,
        distance: Number(f.distance),
        delay: Number(f.delay),
      });
    }
  }
  return flights;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const log = createLogger('bench');
const kafka = createKafka('millrace-bench');
const registry = new Registry();
const db = createPostgresPool(8);
const clickhouse = createClickHouse();
const tenant = `bench-flights-${randomBytes(3).toString('hex')}`;

print(
  `bench tenant ${tenant}; reading ${wanted.toLocaleString()} of ${TOTAL.toLocaleString()} flights from flights-3m.parquet`,
);
let started = performance.now();
const flights = await sample(tenant);
print(`read ${flights.length.toLocaleString()} flights in ${seconds(performance.now() - started)}`);

// the sink, under a name (consumer group) of its own so it starts at the topic's beginning and leaves others' offsets alone
const sink = spawn(
  process.execPath,
  [path.join(root, 'bin', 'millrace.js'), 'sink', 'samples-flights-clickhouse', '--as', `${tenant}-clickhouse`],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
const producer = new AvroProducer(kafka, registry);
await producer.connect();
started = performance.now();
for (let i = 0; i < flights.length; i += 5000)
  await producer.send(
    'samples.flights.raw',
    flights.slice(i, i + 5000).map((value) => ({ value })),
  );
const produced = performance.now() - started;
const count = async () => {
  const result = await clickhouse.query({
    query: `SELECT count() AS n FROM samples_flights WHERE tenant_id = ${sqlValue(tenant)}`,
    format: 'JSONEachRow',
  });
  return Number((await result.json<{ n: string }>())[0]!.n);
};
while ((await count()) < flights.length) await new Promise((resolve) => setTimeout(resolve, 500));
print(
  `ingested: produced to samples.flights.raw in ${seconds(produced)}, all in ClickHouse after ${seconds(performance.now() - started)}`,
);
sink.kill('SIGTERM');

const dataset = await saveDataset(db, tenant, 'delays', {
  table: 'samples_flights',
  features: ['hour', 'weekday', 'month', 'distance', 'origin', 'destination'],
  label: { column: 'delay', op: '>', value: 15 },
  filter: [],
});
const modelId = `${tenant}.delays`;
const f3 = (x: number) => x.toFixed(3);
print(
  '\nalgorithm            rows (train/held-out)   stream+train   train only   AUC     log-loss  accuracy  calib.err | majority: AUC  log-loss  accuracy',
);
for (const algorithm of ALGORITHM_NAMES) {
  const params = parseParams(algorithm, {});
  if (!params.success) throw params.error;
  const version = algorithm === 'logistic_regression' ? '1' : '2';
  started = performance.now();
  const trained = await trainOnDataset({
    clickhouse,
    dataset,
    algorithm,
    params: params.data,
    meta: { id: modelId, version },
    progress: async () => {},
  });
  const total = performance.now() - started;
  const { metrics: m, baseline: b } = trained;
  print(
    `${algorithm.padEnd(20)} ${`${trained.train_rows}/${trained.holdout.rows}`.padEnd(23)} ${seconds(total).padEnd(14)} ${seconds(trained.training_ms).padEnd(12)} ${f3(m.auc)}   ${f3(m.log_loss)}     ${f3(m.accuracy)}     ${f3(m.calibration_error)}     |           ${f3(b.auc)}  ${f3(b.log_loss)}     ${f3(b.accuracy)}`,
  );
  const lineage = {
    job_id: randomUUID(),
    tenant_id: tenant,
    dataset: { name: dataset.name, version: dataset.version, definition: dataset.definition },
    params: params.data,
    code_version: await codeVersion(),
  };
  await registerTrained(
    db,
    trained.onnx,
    buildManifest(trained, { id: modelId, version, description: `bench: ${algorithm}`, lineage }),
  );
}
await activateVersion(db, modelId, '2');

// online predictions through the API (in process: no socket, the same middleware and handlers)
const admin = kafka.admin();
await admin.connect();
const app = composeApi(
  loadConfig(),
  { kafka, registry, producer, admin, db, clickhouse },
  {
    log: createLogger('bench-api', { level: 'warn' }),
    uploads: new Uploads(db, await mkdtemp(path.join(tmpdir(), 'millrace-bench-')), producer, log),
  },
).app;
await createTenant(db, tenant);
const key = (await createKey(db, tenant, 'reader')).key;
// in-process requests have no socket: each phase gets a client address of its own, under the per-IP limit
let connection = { incoming: { socket: { remoteAddress: `bench:${tenant}:warm-up` } } };
const features = (row: SampleFlight) => {
  const at = new Date(row.event_time);
  return {
    hour: at.getUTCHours(),
    weekday: ((at.getUTCDay() + 6) % 7) + 1,
    month: at.getUTCMonth() + 1,
    distance: row.distance,
    origin: row.origin,
    destination: row.destination,
  };
};
const predictOnce = async (row: SampleFlight) => {
  const body = { rows: [features(row)] };
  const t = performance.now();
  const response = await app.request(
    `/v1/models/${modelId}/predict`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    },
    connection,
  );
  if (response.status !== 200) throw new Error(`predict: ${response.status} ${await response.text()}`);
  await response.json();
  return performance.now() - t;
};
for (let i = 0; i < 30; i++) await predictOnce(flights[i]!); // warm-up: the model loads on the first request
const latencies = async (clients: number, perClient: number) => {
  const all: number[] = [];
  const t = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; i < perClient; i++) all.push(await predictOnce(flights[(c * perClient + i) % flights.length]!));
    }),
  );
  return { sorted: all.sort((a, b) => a - b), perSecond: all.length / ((performance.now() - t) / 1000) };
};
print('\nonline predict (POST /v1/models/{id}/predict, one row a request, gradient boosting active)');
for (const clients of [1, 16]) {
  // each request passes the API's per-key and per-IP rate limits (a Postgres upsert each): that is part of the figure
  connection = { incoming: { socket: { remoteAddress: `bench:${tenant}:${clients}` } } };
  const { sorted, perSecond } = await latencies(clients, clients === 1 ? 400 : 30);
  print(
    `  ${String(clients).padStart(2)} client(s): p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, ${perSecond.toFixed(0)} requests/s`,
  );
}

// the same without HTTP, authentication and the rate limits' Postgres round trips: the model's own share
const predictors = new TabularPredictors(db, log, 2);
await predictors.predict(modelId, tenant, [features(flights[0]!)]);
const direct: number[] = [];
for (let i = 0; i < 400; i++) {
  const t = performance.now();
  await predictors.predict(modelId, tenant, [features(flights[i]!)]);
  direct.push(performance.now() - t);
}
direct.sort((a, b) => a - b);
print(
  `   in process, no HTTP/auth/rate limit: p50 ${percentile(direct, 50).toFixed(1)} ms, p99 ${percentile(direct, 99).toFixed(1)} ms (the 2 ms batch window included)`,
);
await predictors.close();

const batchRows = flights.slice(0, 50_000);
connection = { incoming: { socket: { remoteAddress: `bench:${tenant}:batch` } } };
started = performance.now();
const batch = await app.request(
  `/v1/models/${modelId}/batch`,
  {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
    body: batchRows.map((f) => JSON.stringify(features(f))).join('\n'),
  },
  connection,
);
const answered = (await batch.text()).trim().split('\n').length;
print(
  `batch scoring (POST /v1/models/{id}/batch): ${answered.toLocaleString()} rows in ${seconds(performance.now() - started)}, ${Math.round(answered / ((performance.now() - started) / 1000)).toLocaleString()} rows/s`,
);

if (!values.keep) {
  await db.query('DELETE FROM models WHERE id = $1', [modelId]);
  await db.query('DELETE FROM training_datasets WHERE tenant_id = $1', [tenant]);
  await clickhouse.command({ query: `ALTER TABLE samples_flights DELETE WHERE tenant_id = ${sqlValue(tenant)}` });
}
await Promise.all([producer.disconnect(), admin.disconnect(), clickhouse.close()]);
await db.end();
process.exit(0);
