/**
 * Model versions as files and stages, over the API on real Postgres: a tenant registers versions
 * by uploading a manifest and its ONNX graph (checked: it loads, its inputs and outputs are the
 * manifest's), downloads them byte for byte, and moves them between staging, production and
 * archived; refused uploads leave nothing behind.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { registerVersion } from '../../models/model-registry.ts';
import { testApi, type TestApi } from '../../testkit/training-helpers.ts';

const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const deps = {
  db,
  clickhouse,
  kafka: createKafka('millrace-test'),
  registry: new Registry(),
  log: createLogger('test'),
};
const GENRE_DIR = loadConfig().CATALOG_GENRE_MODEL_DIR;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Version {
  version: string;
  stage: 'staging' | 'production' | 'archived';
  active: boolean;
}

describe('model versions as files, in stages', () => {
  let api: TestApi;
  let other: TestApi;
  let graph: Buffer;
  let baseManifest: Record<string, unknown> & { inputs: { name: string }[] };
  let modelId: string;

  before(async () => {
    [api, other] = await Promise.all([testApi(deps, 'files'), testApi(deps, 'files-other')]);
    graph = await readFile(path.join(GENRE_DIR, 'model.onnx'));
    baseManifest = JSON.parse(await readFile(path.join(GENRE_DIR, 'manifest.json'), 'utf8')) as typeof baseManifest;
    modelId = `${api.tenant}.genre`;
  });
  after(async () => {
    await db.query('DELETE FROM models WHERE id LIKE $1', [`${api.tenant}.%`]);
    await Promise.all([api.close(), other.close()]);
    await Promise.all([db.end(), clickhouse.close()]);
  });

  /** A multipart upload of a manifest (changes on the bundled genre model's) and the files given. */
  const upload = (
    changes: Record<string, unknown>,
    files: Record<string, Uint8Array> = { 'model.onnx': graph },
    { id = modelId, who = api, key = api.keys.admin } = {},
  ) => {
    const form = new FormData();
    form.append('manifest', new Blob([JSON.stringify({ ...baseManifest, id, ...changes })]), 'manifest.json');
    for (const [name, bytes] of Object.entries(files)) form.append(name, new Blob([bytes]), name);
    return who.app.request(
      `/v1/models/${id}/versions`,
      { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form },
      { incoming: { socket: { remoteAddress: `test:${who.tenant}` } } },
    );
  };
  const versions = async () =>
    ((await (await api.call(`/v1/models/${modelId}/versions`, api.keys.reader)).json()) as { versions: Version[] })
      .versions;
  const refusal = async (response: Response) => {
    const body = (await response.json()) as { error: string; message: string; field?: string };
    return { status: response.status, ...body, request_id: undefined };
  };

  it('registers an uploaded version in staging, the same files again change nothing, and downloads them byte for byte', async () => {
    const first = await upload({ version: '1' });
    assert.equal(first.status, 201, await first.clone().text());
    assert.deepEqual(
      (({ model_id, version, stage, active }) => ({ model_id, version, stage, active }))(
        (await first.json()) as Version & { model_id: string },
      ),
      { model_id: modelId, version: '1', stage: 'staging', active: false },
    );
    assert.equal((await upload({ version: '1' })).status, 200, 'the same version with the same files: no change');

    const detail = (await (await api.call(`/v1/models/${modelId}/versions/1`, api.keys.reader)).json()) as {
      files: { name: string; sha256: string; bytes: number }[];
    };
    assert.deepEqual(
      detail.files.find((f) => f.name === 'model.onnx'),
      { name: 'model.onnx', sha256: sha256(graph), bytes: graph.length },
    );
    const file = await api.call(`/v1/models/${modelId}/versions/1/files/model.onnx`, api.keys.reader);
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('etag'), `"${sha256(graph)}"`);
    assert.ok(Buffer.from(await file.arrayBuffer()).equals(graph), 'the graph comes back byte for byte');
    const manifest = (await (
      await api.call(`/v1/models/${modelId}/versions/1/files/manifest.json`, api.keys.reader)
    ).json()) as { id: string; version: string };
    assert.deepEqual([manifest.id, manifest.version], [modelId, '1']);
    assert.equal((await api.call(`/v1/models/${modelId}/versions/1/files/nope.onnx`, api.keys.reader)).status, 404);
    // another tenant: as if nothing were there
    assert.equal((await other.call(`/v1/models/${modelId}/versions/1/files/model.onnx`, other.keys.admin)).status, 404);
  });

  it('refuses a graph that does not load or does not match its manifest (422), and files that do not add up (400); nothing is kept', async () => {
    const before = await versions();
    const renamed = await upload({
      version: '2',
      inputs: baseManifest.inputs.map((input, i) => (i === 0 ? { ...input, name: 'tokens' } : input)),
    });
    assert.deepEqual(await refusal(renamed), {
      status: 422,
      error: 'invalid_model',
      message:
        `model.onnx: the manifest's input "tokens" is not one of the graph's (${baseManifest.inputs.map((i) => i.name).join(', ')}); ` +
        `model.onnx: the graph's input "${baseManifest.inputs[0]!.name}" is not in the manifest`,
      field: 'manifest',
      request_id: undefined,
    });
    const garbage = Buffer.from('this is no ONNX graph');
    const notAGraph = await upload(
      { version: '2', sha256: sha256(garbage), models: [{ file: 'model.onnx', sha256: sha256(garbage) }] },
      { 'model.onnx': garbage },
    );
    assert.equal(notAGraph.status, 422);
    assert.match((await refusal(notAGraph)).message, /^model\.onnx does not load in ONNX Runtime: /);

    const wrongSha = await upload({ version: '2', models: [{ file: 'model.onnx', sha256: '0'.repeat(64) }] });
    assert.deepEqual(await refusal(wrongSha), {
      status: 400,
      error: 'invalid_model',
      message: `model.onnx: sha256 ${sha256(graph)} is not the manifest's ${'0'.repeat(64)}`,
      field: 'model.onnx',
      request_id: undefined,
    });
    assert.deepEqual(await refusal(await upload({ version: '2' }, {})), {
      status: 400,
      error: 'invalid_model',
      message: 'model.onnx: not found',
      field: 'model.onnx',
      request_id: undefined,
    });
    const extra = await upload({ version: '2' }, { 'model.onnx': graph, 'notes.txt': Buffer.from('hi') });
    assert.equal((await refusal(extra)).message, 'part "notes.txt" is no file the manifest lists');
    const otherId = await upload({ version: '2', id: `${api.tenant}.other` });
    assert.equal((await refusal(otherId)).field, 'manifest.id');
    assert.deepEqual(await versions(), before, 'no refused upload left a version');
  });

  it("registers only in the tenant's namespace: another tenant's id answers as one that does not exist, a platform model is read-only", async () => {
    const theirs = `${other.tenant}.genre`;
    assert.equal(
      (await upload({ version: '1' }, undefined, { id: theirs, who: other, key: other.keys.admin })).status,
      201,
    );
    const onTheirs = await refusal(await upload({ version: '9' }, undefined, { id: theirs }));
    const onNobodys = await refusal(await upload({ version: '9' }, undefined, { id: `${other.tenant}.nobody` }));
    assert.deepEqual(onTheirs, onNobodys);
    assert.equal(onTheirs.status, 400);
    await registerVersion(db, GENRE_DIR); // the bundled platform model, as `millrace start` registers it
    const platform = await refusal(await upload({ version: '9' }, undefined, { id: 'catalog-genre' }));
    assert.equal(platform.status, 403);
    assert.equal((await upload({ version: '9' }, undefined, { key: api.keys.reader })).status, 403);
    await db.query('DELETE FROM models WHERE id = $1', [theirs]);
  });

  it('moves versions between staging, production and archived; one production version, never archived', async () => {
    assert.equal((await upload({ version: '2' })).status, 201);
    const stage = (version: string, to: string) =>
      api.call(`/v1/models/${modelId}/versions/${version}/stage`, api.keys.admin, { body: { stage: to } });
    const stages = async () => Object.fromEntries((await versions()).map((v) => [v.version, v.stage]));

    assert.equal((await stage('1', 'production')).status, 200);
    assert.deepEqual(await stages(), { '1': 'production', '2': 'staging' });
    assert.equal((await stage('2', 'production')).status, 200);
    assert.deepEqual(await stages(), { '1': 'staging', '2': 'production' }, 'the one before goes back to staging');

    const demote = await refusal(await stage('2', 'archived'));
    assert.deepEqual([demote.status, demote.error], [409, 'conflict']);
    assert.match(demote.message, /is in production: promote another version/);

    assert.equal((await stage('1', 'archived')).status, 200);
    assert.deepEqual(await stages(), { '1': 'archived', '2': 'production' });
    const activateArchived = await refusal(
      await api.call(`/v1/models/${modelId}/versions/1/activate`, api.keys.admin, { method: 'POST' }),
    );
    assert.deepEqual([activateArchived.status, activateArchived.field], [409, 'stage']);
    assert.match(activateArchived.message, /is archived: move it to staging before production/);
    assert.equal(
      (await api.call(`/v1/models/${modelId}/versions/1/shadow`, api.keys.admin, { method: 'POST' })).status,
      404,
      'no shadow of an archived version (nor of anything but a tabular model)',
    );
    assert.equal((await stage('1', 'staging')).status, 200);
    assert.equal((await stage('1', 'production')).status, 200);
    assert.deepEqual(await stages(), { '1': 'production', '2': 'staging' });

    assert.equal((await refusal(await stage('1', 'retired'))).status, 400);
    assert.equal(
      (await other.call(`/v1/models/${modelId}/versions/1/stage`, other.keys.admin, { body: { stage: 'archived' } }))
        .status,
      404,
    );
    await assert.rejects(
      db.query('UPDATE model_versions SET archived_at = now() WHERE model_id = $1 AND active', [modelId]),
      /model_versions_active_not_archived/,
      'Postgres itself refuses an archived production version',
    );
  });

  it('a body over UPLOAD_MAX_BYTES is a 413 and registers nothing', async () => {
    const small = await testApi(deps, 'files-cap', { ...loadConfig(), UPLOAD_MAX_BYTES: 64 * 1024 });
    try {
      const id = `${small.tenant}.genre`;
      const response = await upload({ version: '1' }, undefined, { id, who: small, key: small.keys.admin });
      assert.equal(response.status, 413, await response.clone().text());
      const { rowCount } = await db.query('SELECT 1 FROM models WHERE id = $1', [id]);
      assert.equal(rowCount, 0);
    } finally {
      await small.close();
    }
  });
});
