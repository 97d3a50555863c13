/**
 * Erasing a tenant (issue 22): tenants A and B each get records over HTTP, flights in ClickHouse
 * and Postgres as the sinks write them, an upload, a taxonomy, a watched symbol, a training file and
 * its dataset, a trained model, a training job, an image dataset folder, a user with a session and
 * a redriven dead letter on the compacted topic. A is erased through DELETE /v1/tenant; then no
 * row of A is left in any Postgres or ClickHouse table with tenant_id, its files are gone, its key
 * on the compacted topic is a tombstone, every guarded GET route of /openapi.json refuses its keys
 * and tokens, its name cannot be taken again while the log holds its records, the report counts
 * what the log keeps, and B has exactly what it had. A second erasure finds nothing left.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createKey, createTenant, createUser } from '../../api/auth/accounts.ts';
import { TrainingFiles } from '../../connectors/sources/training-files/training-files.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { catalogueKey } from '../../core/catalogue.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { readRange, wholeTopic } from '../../core/topic-range.ts';
import { clickhouseRowCounts } from '../../domain/tenants/erase-clickhouse.ts';
import { tenantRowCounts } from '../../domain/tenants/erase-postgres.ts';
import type { ErasureReport } from '../../domain/tenants/erasure.ts';
import { activateVersion } from '../../models/model-registry.ts';
import { parseParams } from '../../models/tabular/algorithms.ts';
import type { DatasetDefinition } from '../../models/tabular/dataset-spec.ts';
import { trainOnDataset } from '../../models/tabular/train.ts';
import { saveDataset } from '../../models/tabular/training-datasets.ts';
import { buildManifest, registerTrained } from '../../models/tabular/version.ts';
import { DELAY_DATASET, insertFlights, ruledFlights, testApi, type TestApi } from '../../testkit/training-helpers.ts';

const REDRIVEN = 'ops.deadletters.redriven';
const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const kafka = createKafka('millrace-test-erasure');
const registry = new Registry();
const log = createLogger('test-erasure');
const producer = new AvroProducer(kafka, registry);

interface Seeded {
  upload: string;
  trainingFile: string;
  redrivenKey: string;
  token: { access_token: string; refresh_token: string };
}

async function ok<T>(response: Response, what: string): Promise<T> {
  const text = await response.text();
  assert.ok(response.status >= 200 && response.status < 300, `${what}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Everything a tenant can have, in every store: through its API, and as the sinks and trainer write. */
async function seed(t: TestApi, home: string): Promise<Seeded> {
  const key = t.keys.admin;
  const tag = t.tenant;
  await ok(
    await t.call('/v1/taxonomies/films', key, { method: 'PUT', body: { genres: [`${tag}-drama`] } }),
    'taxonomy',
  );
  await ok(await t.call('/v1/stocks', key, { body: { symbol: 'IBM' } }), 'stock');
  const quote = { id: `${tag}-q`, event_time: Date.now(), source: 'erasure', symbol: 'IBM', ts: Date.now(), close: 1 };
  await ok(await t.call('/v1/topics/market.quotes.raw/records', key, { body: [quote] }), 'records');
  const upload = await ok<{ id: string }>(
    await t.call('/v1/uploads?filename=films.csv', key, {
      raw: `title,genre\n${tag} film,Drama\n`,
      contentType: 'text/csv',
    }),
    'upload',
  );
  const file = await ok<{ id: string }>(
    await t.call('/v1/training-files', key, { raw: 'x,y\n1,2\n3,4\n5,6\n', contentType: 'text/csv' }),
    'training file',
  );
  await ok(
    await t.call('/v1/training-datasets', key, {
      body: { name: 'from-file', source: { file: file.id }, target: 'y', features: ['x'] },
    }),
    'file dataset', // its rows are in ClickHouse when it answers
  );

  // flights as the sinks land them, in ClickHouse (and its rollups) and Postgres
  const flights = ruledFlights(t.tenant, 600);
  await insertFlights(clickhouse, flights);
  for (const f of flights.slice(0, 20)) {
    await db.query(
      `INSERT INTO samples_flights (id, tenant_id, event_time, origin, destination, distance, delay, source_partition, source_offset)
       VALUES ($1, $2, to_timestamp($3), $4, $5, $6, $7, 0, $8)`,
      [f.id, t.tenant, f.event_time, f.origin, f.destination, f.distance, f.delay, f._offset],
    );
  }
  // a model trained on them, as the trainer registers it, and a queued training job
  const dataset = await saveDataset(db, t.tenant, 'delays', DELAY_DATASET as DatasetDefinition);
  const modelId = `${t.tenant}.delays`;
  const params = parseParams('logistic_regression', {});
  assert.ok(params.success);
  const trained = await trainOnDataset({
    clickhouse,
    dataset,
    algorithm: 'logistic_regression',
    params: params.data,
    meta: { id: modelId, version: '1' },
    progress: async () => {},
  });
  const lineage = {
    job_id: randomUUID(),
    tenant_id: t.tenant,
    dataset: { name: 'delays', version: dataset.version, definition: dataset.definition },
    params: params.data,
    code_version: 'test',
  };
  await registerTrained(
    db,
    trained.onnx,
    buildManifest(trained, { id: modelId, version: '1', description: 'erasure', lineage }),
  );
  await activateVersion(db, modelId, '1');
  await ok(
    await t.call('/v1/training-jobs', key, {
      body: { dataset: 'delays', algorithm: 'logistic_regression', model: 'queued' },
    }),
    'training job',
  );

  // an image dataset's folder, a user with a session, a redriven dead letter
  const images = path.join(home, 'datasets', t.tenant, 'cats');
  await mkdir(images, { recursive: true });
  await writeFile(path.join(images, 'a.png'), 'not really a png');
  await createUser(db, t.tenant, `ops@${t.tenant}.example`, 'a long passphrase', 'admin');
  const token = await ok<Seeded['token']>(
    await t.app.request('/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `ops@${t.tenant}.example`, password: 'a long passphrase' }),
    }),
    'login',
  );
  const redriven = {
    id: `${REDRIVEN}.dlq-of-${t.tenant}:0:1`,
    tenant_id: t.tenant,
    event_time: Date.now(),
    dlq_topic: 'market.quotes.raw.dlq',
    dlq_partition: 0,
    dlq_offset: 1,
    target_topic: 'market.quotes.raw',
    target_partition: 0,
    target_offset: 2,
    redriven_by: 'cli:test',
  };
  await producer.send(REDRIVEN, [{ key: catalogueKey(REDRIVEN, redriven), value: redriven }]);
  return { upload: upload.id, trainingFile: file.id, redrivenKey: catalogueKey(REDRIVEN, redriven), token };
}

/** The paths of /openapi.json with a GET that takes credentials. */
async function guardedGets(t: TestApi): Promise<string[]> {
  const doc = (await (await t.app.request('/openapi.json')).json()) as {
    paths: Record<string, Record<string, { security?: unknown[] }>>;
  };
  return Object.entries(doc.paths)
    .filter(([, item]) => item.get?.security?.length)
    .map(([p]) => p);
}

/** The last value of each key of the compacted topic (null: a tombstone). */
async function lastValues(): Promise<Map<string, Buffer | null>> {
  const last = new Map<string, Buffer | null>();
  await readRange(kafka, REDRIVEN, await wholeTopic(kafka, REDRIVEN), ({ message }) => {
    if (message.key) last.set(message.key.toString(), message.value);
    return true;
  });
  return last;
}

describe('erasing a tenant', () => {
  let home: string;
  let a: TestApi;
  let b: TestApi;
  let seededA: Seeded;
  let seededB: Seeded;
  let operatorKey: string;
  let bBefore: { postgres: Record<string, number>; clickhouse: Record<string, number> };
  let report: ErasureReport;

  before(async () => {
    await producer.connect();
    home = await mkdtemp(path.join(tmpdir(), 'millrace-erasure-'));
    const config = { ...loadConfig(), MILLRACE_HOME: home, CRAWL_DATASETS_DIR: path.join(home, 'datasets') };
    const services = () => ({
      uploads: new Uploads(db, path.join(home, 'uploads'), producer, log),
      trainingFiles: new TrainingFiles(db, clickhouse, path.join(home, 'training-files'), log),
    });
    const deps = { db, clickhouse, kafka, registry, log };
    a = await testApi(deps, 'erase-a', config, services());
    b = await testApi(deps, 'erase-b', config, services());
    operatorKey = (await createKey(db, b.tenant, 'operator')).key;
    seededA = await seed(a, home);
    seededB = await seed(b, home);
    bBefore = {
      postgres: await tenantRowCounts(db, b.tenant),
      clickhouse: await clickhouseRowCounts(clickhouse, b.tenant),
    };
  });
  after(async () => {
    // B goes the way A went, so the shared databases keep neither
    await b.call(`/v1/tenants/${b.tenant}`, operatorKey, { method: 'DELETE', body: { confirm: b.tenant } });
    await Promise.all([a.close(), b.close(), producer.disconnect()]);
    await Promise.all([db.end(), clickhouse.close()]);
  });

  it('A has rows in many Postgres and ClickHouse tables to begin with', async () => {
    const postgres = await tenantRowCounts(db, a.tenant);
    for (const table of [
      'api_keys',
      'users',
      'uploads',
      'catalog_taxonomies',
      'market_symbols',
      'training_files',
      'training_datasets',
      'training_jobs',
      'models',
      'samples_flights',
    ])
      assert.ok(postgres[table]! > 0, `${table}: ${JSON.stringify(postgres)}`);
    const ch = await clickhouseRowCounts(clickhouse, a.tenant);
    for (const table of ['samples_flights', 'samples_flights_daily', 'training_rows'])
      assert.ok(ch[table]! > 0, `${table}: ${JSON.stringify(ch)}`);
    assert.equal((await lastValues()).get(seededA.redrivenKey) === null, false);
  });

  it('DELETE /v1/tenant erases A and reports what went and what the log keeps', async () => {
    const refused = await a.call('/v1/tenant', a.keys.admin, { method: 'DELETE', body: { confirm: b.tenant } });
    assert.equal(refused.status, 400);
    const response = await a.call('/v1/tenant', a.keys.admin, { method: 'DELETE', body: { confirm: a.tenant } });
    report = await ok<ErasureReport>(response, 'erasure');
    log.info({ report }, 'erasure report');
    assert.equal(report.tenant, a.tenant);
    assert.equal(report.keys_revoked, 3);
    for (const table of ['uploads', 'models', 'model_versions', 'model_version_files', 'users', 'training_job_events'])
      assert.ok(report.postgres[table]! > 0, `${table}: ${JSON.stringify(report.postgres)}`);
    assert.equal(report.postgres.samples_flights, 20);
    assert.equal(report.clickhouse.samples_flights, 600);
    assert.ok(report.clickhouse.training_rows! >= 3);
    // the upload's original, the training file's original, the image
    assert.ok(report.files_removed >= 3, `files: ${report.files_removed}`);
    assert.deepEqual(report.tombstones, [{ topic: REDRIVEN, written: 1 }]);
    const quotes = report.remains_in_log.find((t) => t.topic === 'market.quotes.raw')!;
    assert.equal(quotes.records, 1);
    assert.equal(quotes.retention_ms, 30 * 24 * 3600 * 1000);
    assert.ok(Date.parse(quotes.gone_after!) > Date.now() + 29 * 24 * 3600 * 1000);
    assert.ok(Date.parse(report.name_free_at) >= Date.parse(report.erased_at) + 365 * 24 * 3600 * 1000);
  });

  it('leaves no row of A in Postgres or ClickHouse, and B has all it had', async () => {
    assert.deepEqual(await tenantRowCounts(db, a.tenant), {});
    assert.deepEqual(await clickhouseRowCounts(clickhouse, a.tenant), {});
    assert.deepEqual(await tenantRowCounts(db, b.tenant), bBefore.postgres);
    assert.deepEqual(await clickhouseRowCounts(clickhouse, b.tenant), bBefore.clickhouse);
  });

  it("removes A's files and none of B's", () => {
    assert.equal(existsSync(path.join(home, 'uploads', seededA.upload)), false);
    assert.equal(existsSync(path.join(home, 'training-files', seededA.trainingFile)), false);
    assert.equal(existsSync(path.join(home, 'datasets', a.tenant)), false);
    assert.equal(existsSync(path.join(home, 'uploads', seededB.upload)), true);
    assert.equal(existsSync(path.join(home, 'training-files', seededB.trainingFile)), true);
    assert.equal(existsSync(path.join(home, 'datasets', b.tenant, 'cats', 'a.png')), true);
  });

  it("writes a tombstone for A's key on the compacted topic and leaves B's", async () => {
    const last = await lastValues();
    assert.equal(last.get(seededA.redrivenKey), null);
    assert.ok(last.get(seededB.redrivenKey));
  });

  it("refuses A's keys, access token and refresh token on every guarded GET route", async () => {
    const gets = (await guardedGets(a)).map((p) => p.replace(/\{[^}]+\}/g, seededA.upload));
    assert.ok(gets.length > 30, `${gets.length} routes`);
    for (const url of gets) {
      for (const credential of [a.keys.admin, a.keys.reader, seededA.token.access_token]) {
        const response = await a.call(url, credential);
        await response.body?.cancel();
        assert.equal(response.status, 401, `GET ${url}`);
      }
    }
    const refresh = await a.app.request('/v1/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: seededA.token.refresh_token }),
    });
    assert.equal(refresh.status, 401);
    const login = await a.app.request('/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `ops@${a.tenant}.example`, password: 'a long passphrase' }),
    });
    assert.equal(login.status, 401);
    // B is still served
    assert.equal((await b.call(`/v1/uploads/${seededB.upload}`, b.keys.reader)).status, 200);
  });

  it("keeps A's name while the log holds its records, and frees it after", async () => {
    await assert.rejects(createTenant(db, a.tenant), /was erased; its name is free again from/);
    await assert.rejects(createKey(db, a.tenant, 'admin'), /no tenant/);
    await db.query("UPDATE tenants SET name_free_at = now() - interval '1 second' WHERE id = $1", [a.tenant]);
    await createTenant(db, a.tenant);
    const key = (await createKey(db, a.tenant, 'admin')).key;
    // every guarded GET route asked for the old A's things: none of them shows. The routes reading
    // the log are left out: their records of the old A are what the name lock waits for.
    const secrets = [`${a.tenant}-drama`, `${a.tenant} film`, seededA.upload, seededA.trainingFile, 'from-file'];
    for (const url of await guardedGets(a)) {
      if (/\/records|\/streams\/|dead-letters/.test(url)) continue;
      for (const value of [seededA.upload, seededA.trainingFile, 'films', 'from-file', 'delays']) {
        const response = await a.call(url.replace(/\{[^}]+\}/g, value), key);
        const body = response.headers.get('content-type')?.includes('event-stream') ? '' : await response.text();
        await response.body?.cancel().catch(() => undefined);
        assert.ok(response.status < 500, `GET ${url}: ${response.status}`);
        // an id in the URL may come back in a 404's message; anything else of the old A must not
        const found = secrets.filter((s) => s !== value && body.includes(s));
        assert.deepEqual(found, [], `GET ${url.replace(/\{[^}]+\}/g, value)}: ${body.slice(0, 300)}`);
      }
    }
    const stocks = await ok<{ stocks: unknown[] }>(await a.call('/v1/stocks', key), 'watch list of the new A');
    assert.deepEqual(stocks.stocks, []);
    assert.equal((await a.call('/v1/taxonomies/films', key)).status, 404);
    assert.deepEqual(await tenantRowCounts(db, a.tenant), { api_keys: 1 });
  });

  it('erasing again is safe and finds nothing; an unknown tenant is a 404', async () => {
    const again = await ok<ErasureReport>(
      await b.call(`/v1/tenants/${a.tenant}`, operatorKey, { method: 'DELETE', body: { confirm: a.tenant } }),
      'second erasure',
    );
    assert.deepEqual(Object.keys(again.postgres), ['api_keys']);
    assert.deepEqual(again.clickhouse, {});
    assert.equal(again.files_removed, 0);
    assert.deepEqual(again.tombstones, [{ topic: REDRIVEN, written: 0 }]);
    const third = await ok<ErasureReport>(
      await b.call(`/v1/tenants/${a.tenant}`, operatorKey, { method: 'DELETE', body: { confirm: a.tenant } }),
      'third erasure',
    );
    assert.deepEqual([third.postgres, third.clickhouse, third.keys_revoked], [{}, {}, 0]);
    const unknown = await b.call('/v1/tenants/erase-nobody', operatorKey, {
      method: 'DELETE',
      body: { confirm: 'erase-nobody' },
    });
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /no tenant \\"erase-nobody\\"/);
  });

  it('the CLI refuses without --yes off a terminal, and names an unknown tenant', async () => {
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, ['bin/millrace.js', 'tenants', 'erase', ...args], {
        cwd: loadConfig().repoRoot,
      }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
    const unconfirmed = await cli([b.tenant]);
    assert.notEqual(unconfirmed.code, 0);
    assert.match(unconfirmed.stderr, /pass --yes to confirm/);
    assert.ok((await tenantRowCounts(db, b.tenant)).api_keys, 'B untouched');
    const unknown = await cli(['erase-nobody', '--yes']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no tenant "erase-nobody"/);
  });
});
