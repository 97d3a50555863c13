/**
 * Models belong to a tenant or to the platform. Walks every model route of /openapi.json with two
 * tenants: tenant B has a trained, active model, a training job and a dataset; tenant A asking for
 * any of them gets exactly the answer it gets for an id that exists nowhere (status, error and
 * message), while B's own calls find them. A platform model is listed to every tenant, read-only:
 * activating it takes an operator.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKey } from '../../api/auth/accounts.ts';
import { createGenreModelJob } from '../../domain/catalog/genre-model-jobs.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { activateVersion, registerVersion } from '../../models/model-registry.ts';
import { parseParams } from '../../models/tabular/algorithms.ts';
import type { DatasetDefinition } from '../../models/tabular/dataset-spec.ts';
import { trainOnDataset } from '../../models/tabular/train.ts';
import { saveDataset } from '../../models/tabular/training-datasets.ts';
import { buildManifest, registerTrained } from '../../models/tabular/version.ts';
import { DELAY_DATASET, insertFlights, ruledFlights, testApi, type TestApi } from '../../testkit/training-helpers.ts';

const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const deps = {
  db,
  clickhouse,
  kafka: createKafka('millrace-test'),
  registry: new Registry(),
  log: createLogger('test'),
};
const suffix = randomBytes(4).toString('hex');
const PLATFORM_MODEL = `tenancy-platform-${suffix}`;

type Operation = { method: string; path: string };

/** A request's body for an operation that takes one; the rows fit the trained model's features. */
function bodyOf({ method, path }: Operation): { body?: unknown; raw?: string; contentType?: string } {
  const row = { hour: 18, weekday: 5, distance: 740, origin: 'ORD' };
  if (path.endsWith('/predict')) return { body: { rows: [row] } };
  if (path.endsWith('/batch')) return { raw: `${JSON.stringify(row)}\n`, contentType: 'application/x-ndjson' };
  if (method === 'post' && path.endsWith('/versions'))
    return {
      raw: '--b\r\ncontent-disposition: form-data; name="manifest"; filename="manifest.json"\r\n\r\n{}\r\n--b--\r\n',
      contentType: 'multipart/form-data; boundary=b',
    };
  if (path.endsWith('/stage')) return { body: { stage: 'staging' } };
  return method === 'post' ? { body: {} } : {};
}

/** Status and body of a call; an event stream's body is not read (it would not end). */
async function answer(response: Response): Promise<{ status: number; body: string }> {
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    await response.body?.cancel();
    return { status: response.status, body: '(event stream)' };
  }
  return { status: response.status, body: await response.text() };
}

describe('models per tenant', () => {
  let a: TestApi;
  let b: TestApi;
  let operatorKey: string;
  let bModel: string;
  let bJob: string;
  let bGenreJob: string;
  let bFile: string;

  before(async () => {
    [a, b] = await Promise.all([testApi(deps, 'tenancy-a'), testApi(deps, 'tenancy-b')]);
    operatorKey = (await createKey(db, a.tenant, 'operator')).key;
    await insertFlights(clickhouse, ruledFlights(b.tenant, 1500));
    const dataset = await saveDataset(db, b.tenant, 'delays', DELAY_DATASET as DatasetDefinition);
    bModel = `${b.tenant}.delays`;
    const params = parseParams('logistic_regression', {});
    assert.ok(params.success);
    const trained = await trainOnDataset({
      clickhouse,
      dataset,
      algorithm: 'logistic_regression',
      params: params.data,
      meta: { id: bModel, version: '1' },
      progress: async () => {},
    });
    const lineage = {
      job_id: randomUUID(),
      tenant_id: b.tenant,
      dataset: { name: 'delays', version: dataset.version, definition: dataset.definition },
      params: params.data,
      code_version: 'test',
    };
    await registerTrained(
      db,
      trained.onnx,
      buildManifest(trained, { id: bModel, version: '1', description: 'B', lineage }),
    );
    await activateVersion(db, bModel, '1');
    const job = await b.call('/v1/training-jobs', b.keys.admin, {
      body: { dataset: 'delays', algorithm: 'logistic_regression', model: 'queued-only' },
    });
    assert.equal(job.status, 202, await job.clone().text());
    bJob = ((await job.json()) as { id: string }).id;
    const file = await b.call('/v1/training-files', b.keys.admin, {
      raw: 'x,y\n1,2\n3,4\n',
      contentType: 'text/csv',
    });
    assert.equal(file.status, 201, await file.clone().text());
    bFile = ((await file.json()) as { id: string }).id;
    // a genre model job of B's, as its queued row (what it would train on does not matter here)
    bGenreJob = (
      await createGenreModelJob(db, {
        tenant_id: b.tenant,
        model_id: `${b.tenant}.films`,
        upload_id: randomUUID(),
        params: { text: ['title'], label: 'genre', dimensions: 1024, epochs: 1, seed: 1 },
      })
    ).id;

    // a platform model: a copy of the bundled genre model under another id
    const source = loadConfig().CATALOG_GENRE_MODEL_DIR;
    const dir = await mkdtemp(path.join(tmpdir(), 'millrace-platform-model-'));
    const manifest = JSON.parse(await readFile(path.join(source, 'manifest.json'), 'utf8')) as {
      models: { file: string }[];
    };
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, id: PLATFORM_MODEL }));
    for (const { file } of manifest.models) await copyFile(path.join(source, file), path.join(dir, file));
    await registerVersion(db, dir);
  });
  after(async () => {
    await db.query('DELETE FROM models WHERE id = ANY($1)', [[bModel, PLATFORM_MODEL]]);
    await Promise.all([a.close(), b.close()]);
    await Promise.all([db.end(), clickhouse.close()]);
  });

  it("answers another tenant's model, version, job and dataset exactly as one that exists nowhere, on every model route", async () => {
    const doc = (await (await a.app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { tags?: string[] }>>;
    };
    const operations: Operation[] = Object.entries(doc.paths).flatMap(([p, item]) =>
      Object.entries(item)
        .filter(([, op]) => op.tags?.includes('models') && p.includes('{'))
        .map(([method]) => ({ method, path: p })),
    );
    // B's own calls follow A's: its deletes last, so that what they delete is there for the rest
    operations.sort((x, y) => Number(x.method === 'delete') - Number(y.method === 'delete'));
    const paths = new Set(operations.map((o) => o.path));
    for (const expected of [
      '/v1/models/{id}/versions',
      '/v1/models/{id}/versions/{version}',
      '/v1/models/{id}/versions/{version}/files/{name}',
      '/v1/models/{id}/versions/{version}/stage',
      '/v1/models/{id}/versions/{version}/activate',
      '/v1/models/{id}/predict',
      '/v1/models/{id}/batch',
      '/v1/models/{id}/versions/{version}/shadow',
      '/v1/models/{id}/versions/{version}/comparison',
      '/v1/models/{id}/versions/{version}/drift',
      '/v1/training-jobs/{id}',
      '/v1/training-jobs/{id}/events',
      '/v1/training-datasets/{name}',
      '/v1/genre-model-jobs/{id}',
      '/v1/training-files/{id}',
      '/v1/training-files/{id}/columns',
    ])
      assert.ok(paths.has(expected), `${expected} is walked`);

    // B's namespace, but nothing of B's: A must not tell the two apart
    const nowhere = {
      model: `${b.tenant}.nowhere`,
      job: randomUUID(),
      genreJob: randomUUID(),
      file: randomUUID(),
      dataset: 'nowhere',
    };
    const bs = { model: bModel, job: bJob, genreJob: bGenreJob, file: bFile, dataset: 'delays' };
    const idOf = (p: string, ids: typeof bs) =>
      p.startsWith('/v1/training-jobs')
        ? ids.job
        : p.startsWith('/v1/genre-model-jobs')
          ? ids.genreJob
          : p.startsWith('/v1/training-files')
            ? ids.file
            : ids.model;
    const url = (p: string, ids: typeof bs) =>
      p
        .replace('{id}', idOf(p, ids))
        .replace('{name}', p.includes('/files/') ? 'manifest.json' : ids.dataset)
        .replace('{version}', '1');
    const idsIn = (text: string, ids: typeof bs) =>
      text
        .replaceAll(ids.model, '<model>')
        .replaceAll(ids.job, '<job>')
        .replaceAll(ids.genreJob, '<job>')
        .replaceAll(ids.file, '<file>');
    const shape = (body: string) => {
      try {
        return { ...(JSON.parse(body) as Record<string, unknown>), request_id: undefined };
      } catch {
        return { text: body };
      }
    };
    for (const operation of operations) {
      const method = operation.method.toUpperCase();
      const init = { method, ...bodyOf(operation) };
      const what = `${method} ${operation.path}`;
      const asA = await answer(await a.call(url(operation.path, bs), a.keys.admin, init));
      const unknown = await answer(await a.call(url(operation.path, nowhere), a.keys.admin, init));
      // registering a version outside one's namespace is refused as such, whoever has the id
      const expected = method === 'POST' && operation.path.endsWith('/versions') ? 400 : 404;
      assert.equal(asA.status, expected, `${what}: tenant A gets ${asA.status} for B's: ${asA.body}`);
      // the message names what A asked for, so ids aside it must read as the unknown one does
      assert.deepEqual(
        shape(idsIn(asA.body, bs).replaceAll('delays', '<dataset>')),
        shape(idsIn(unknown.body, nowhere).replaceAll('nowhere', '<dataset>')),
        `${what}: B's answer differs from an unknown id's`,
      );
      // and B's own call finds them (an answer of its own, a 404 only for what is not there: a shadow not attached)
      const asB = await answer(await b.call(url(operation.path, bs), b.keys.admin, init));
      assert.notDeepEqual(shape(asB.body), shape(asA.body), `${what}: tenant B finds its own (${asB.body})`);
    }
  });

  it("lists a tenant's own models and the platform's, never another tenant's; an operator lists them all", async () => {
    type Listed = { models: { id: string; tenant_id: string | null }[] };
    const list = async (key: string, api: TestApi) =>
      ((await (await api.call('/v1/models', key)).json()) as Listed).models;
    const asA = await list(a.keys.reader, a);
    assert.ok(!asA.some((m) => m.id === bModel || m.tenant_id === b.tenant), "A's list holds nothing of B's");
    assert.deepEqual(
      asA.filter((m) => m.id === PLATFORM_MODEL).map((m) => m.tenant_id),
      [null],
      'the platform model is listed to A, owned by no tenant',
    );
    const asB = await list(b.keys.reader, b);
    assert.deepEqual(
      asB.filter((m) => m.id === bModel).map((m) => m.tenant_id),
      [b.tenant],
      'B sees its own model, owned by B',
    );
    const asOperator = await list(operatorKey, a);
    assert.ok(asOperator.some((m) => m.id === bModel) && asOperator.some((m) => m.id === PLATFORM_MODEL));
  });

  it("reads a platform model's versions; only an operator activates it, and an operator never changes a tenant's model", async () => {
    assert.equal((await a.call(`/v1/models/${PLATFORM_MODEL}/versions`, a.keys.reader)).status, 200);
    const activate = (id: string, key: string, api = a) =>
      api.call(`/v1/models/${id}/versions/1.0.0/activate`, key, { method: 'POST' });
    const byAdmin = await activate(PLATFORM_MODEL, a.keys.admin);
    assert.equal(byAdmin.status, 403, await byAdmin.clone().text());
    assert.match(((await byAdmin.json()) as { message: string }).message, /platform model: read-only to tenants/);
    const byOperator = await activate(PLATFORM_MODEL, operatorKey);
    assert.equal(byOperator.status, 200, await byOperator.clone().text());
    const onTenantModel = await a.call(`/v1/models/${bModel}/versions/1/activate`, operatorKey, { method: 'POST' });
    assert.equal(onTenantModel.status, 403, await onTenantModel.clone().text());
  });

  it('a tenant registers only in its namespace, and never a version of a platform model squatting it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'millrace-platform-model-'));
    const source = loadConfig().CATALOG_GENRE_MODEL_DIR;
    const manifest = JSON.parse(await readFile(path.join(source, 'manifest.json'), 'utf8')) as {
      models: { file: string }[];
    };
    for (const { file } of manifest.models) await copyFile(path.join(source, file), path.join(dir, file));
    const write = (id: string) =>
      writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, id, version: '9' }));
    await write(PLATFORM_MODEL);
    await assert.rejects(registerVersion(db, dir, { tenantId: a.tenant }), /a model of tenant .* starts with/);
    await write(bModel);
    await assert.rejects(registerVersion(db, dir, { tenantId: a.tenant }), /starts with/);
    await assert.rejects(registerVersion(db, dir), /is a tenant's model: the platform cannot register/);
    const squat = `${a.tenant}.squat`;
    await write(squat);
    try {
      await registerVersion(db, dir);
      await assert.rejects(registerVersion(db, dir, { tenantId: a.tenant }), /is a platform model: a tenant cannot/);
    } finally {
      await db.query('DELETE FROM models WHERE id = $1', [squat]);
    }
  });
});
