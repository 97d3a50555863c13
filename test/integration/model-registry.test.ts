/**
 * The model registry on real Postgres and Kafka: versions registered from manifest directories
 * (the same version with other content refused), activation over the API and the CLI, the watch
 * that follows activations (notifications, a dropped connection, the periodic check), and the
 * finance processor switching versions mid-stream without a restart.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, copyFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../api/app.ts';
import { loadConfig } from '../../core/config.ts';
import { composeApi } from '../../api/compose.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { provisionTopics, registerSchemas } from '../../core/provision.ts';
import { Registry } from '../../core/schema-registry.ts';
import { resolveTopic } from '../../core/topic-checks.ts';
import { MODELS_DIR } from '../../models/finance/manifest.ts';
import {
  activateVersion,
  activeVersion,
  listVersions,
  loadVersion,
  ModelRegistryError,
  readVersionDir,
  registerVersion,
  VersionConflictError,
  watchActiveVersion,
} from '../../models/model-registry.ts';
import { FINANCE_MODEL_ID } from '../../models/finance/manifest.ts';
import { financeScoring, registerBundledModels } from '../../processors/finance/index.ts';
import { FinanceScorer } from '../../domain/finance/score.ts';
import { processorGroupOf, runProcessor } from '../../processors/runtime/index.ts';
import { statements } from '../../testkit/finance-statements.ts';
import { eventually } from '../../testkit/helpers.ts';
import { cli, readCommitted, waitForCommitted } from '../../testkit/processor-helpers.ts';
import type { ScoreRecord } from '../../schemas/records/finance.ts';

const suffix = randomBytes(4).toString('hex');
const TEST_MODEL = `test.model-${suffix}`;
const FINANCE_V2 = `1.0.1-test.${suffix}`;
const HOUR = 3_600_000;

const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(4);
const log = createLogger('test');

/** A copy of models/finance (the same ONNX files) with manifest fields replaced. */
async function versionDir(changes: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'millrace-version-'));
  const manifest = {
    ...(JSON.parse(await readFile(path.join(MODELS_DIR, 'manifest.json'), 'utf8')) as { models: { file: string }[] }),
    ...changes,
  };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  for (const { file } of manifest.models) await copyFile(path.join(MODELS_DIR, file), path.join(dir, file));
  return dir;
}

/** Backend pids of the model watchers' LISTEN connections to this database. */
async function listenerPids(): Promise<number[]> {
  const { rows } = await db.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE application_name = 'millrace-model-watch' AND datname = current_database() ORDER BY pid",
  );
  return rows.map((r) => r.pid);
}

after(async () => {
  await db.query('DELETE FROM models WHERE id = $1', [TEST_MODEL]);
  await db.end();
});

describe('registering versions', () => {
  it('stores a manifest directory byte for byte; the same content again changes nothing', async () => {
    const dir = await versionDir({ id: TEST_MODEL, version: '1.0.0' });
    const first = await registerVersion(db, dir);
    assert.equal(first.created, true);
    assert.equal(first.active, false);
    assert.equal(first.sha256, (await readVersionDir(dir)).sha256);
    const again = await registerVersion(db, dir);
    assert.deepEqual({ created: again.created, sha256: again.sha256 }, { created: false, sha256: first.sha256 });
    assert.deepEqual(
      (await listVersions(db, TEST_MODEL, { operator: true })).map((v) => v.version),
      ['1.0.0'],
    );

    const stored = await loadVersion(db, TEST_MODEL, '1.0.0', async (loaded) => {
      const names = (await readdir(loaded)).sort();
      return Promise.all(names.map(async (name) => [name, await readFile(path.join(loaded, name))] as const));
    });
    assert.deepEqual(
      stored.map(([name]) => name),
      ['altman-1968.onnx', 'manifest.json', 'ohlson-1980-model1.onnx', 'zmijewski-1984.onnx'],
    );
    for (const [name, bytes] of stored)
      assert.ok(bytes.equals(await readFile(path.join(dir, name))), `${name} as registered`);
    const scorer = await loadVersion(db, TEST_MODEL, '1.0.0', (loaded) => FinanceScorer.load({ dir: loaded }));
    assert.deepEqual([scorer.modelId, scorer.modelVersion], [TEST_MODEL, '1.0.0']);
    await scorer.release();
  });

  it('refuses the same version with other content, a file that is not its manifest one, and stored bytes that changed', async () => {
    const [registered] = await listVersions(db, TEST_MODEL, { operator: true });
    const changed = await versionDir({ id: TEST_MODEL, version: '1.0.0', units: 'statement currency, thousands' });
    await assert.rejects(registerVersion(db, changed), (error: Error) => {
      assert.ok(error instanceof VersionConflictError);
      assert.match(
        error.message,
        new RegExp(
          `${TEST_MODEL} 1\\.0\\.0 is already registered with sha256 ${registered!.sha256}, and .* has sha256 [0-9a-f]{64}`,
        ),
      );
      return true;
    });
    assert.equal(
      (await listVersions(db, TEST_MODEL, { operator: true }))[0]!.sha256,
      registered!.sha256,
      'the registered version is untouched',
    );

    const tampered = await versionDir({ id: TEST_MODEL, version: '1.0.1' });
    await appendFile(path.join(tampered, 'altman-1968.onnx'), Buffer.from([0]));
    await assert.rejects(registerVersion(db, tampered), (error: Error) => {
      assert.ok(error instanceof ModelRegistryError);
      assert.match(error.message, /altman-1968\.onnx: sha256 [0-9a-f]{64} is not the manifest's d11e0a17/);
      return true;
    });
    assert.deepEqual(
      (await listVersions(db, TEST_MODEL, { operator: true })).map((v) => v.version),
      ['1.0.0'],
      'nothing of 1.0.1 stored',
    );

    await registerVersion(db, await versionDir({ id: TEST_MODEL, version: '0.9.0-corrupt' }));
    await db.query(
      "UPDATE model_version_files SET content = content || '\\x00'::bytea WHERE model_id = $1 AND version = '0.9.0-corrupt' AND name = 'zmijewski-1984.onnx'",
      [TEST_MODEL],
    );
    await assert.rejects(
      loadVersion(db, TEST_MODEL, '0.9.0-corrupt', async () => assert.fail('loaded a corrupt version')),
      /do not match the version's sha256 .*\(zmijewski-1984\.onnx\)/,
    );
    await db.query("DELETE FROM model_versions WHERE model_id = $1 AND version = '0.9.0-corrupt'", [TEST_MODEL]);
  });

  it('the CLI registers, lists and activates', async () => {
    const dir = await versionDir({ id: TEST_MODEL, version: '3.0.0' });
    const millrace = (...args: string[]) =>
      spawnSync(process.execPath, [cli, 'models', ...args], { encoding: 'utf8', timeout: 60_000 });
    const registered = millrace('register', dir);
    assert.equal(registered.status, 0, registered.stderr);
    assert.match(registered.stdout, new RegExp(`^registered ${TEST_MODEL} 3\\.0\\.0 sha256 [0-9a-f]{64}\\n$`));
    assert.match(millrace('register', dir).stdout, /^already registered /);
    const activated = millrace('activate', TEST_MODEL, '3.0.0');
    assert.equal(activated.status, 0, activated.stderr);
    assert.equal(activated.stdout, `activated ${TEST_MODEL} 3.0.0 (was none)\n`);
    assert.match(millrace('list', TEST_MODEL).stdout, /^ {2}1\.0\.0\t.*\n\* 3\.0\.0\t/);
    const unknown = millrace('activate', TEST_MODEL, '9.9.9');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, new RegExp(`model "${TEST_MODEL}" has no version "9\\.9\\.9"`));
  });
});

describe('the API', () => {
  const clickhouse = createClickHouse('default');
  const producer = new AvroProducer(kafka, registry);
  const admin = kafka.admin();
  const keys: Record<string, string> = {};
  let app: App;
  const call = (url: string, key: string | undefined, method = 'GET') =>
    app.request(url, { method, headers: key ? { authorization: `Bearer ${key}` } : {} });

  before(async () => {
    await Promise.all([producer.connect(), admin.connect()]);
    const uploads = new Uploads(db, await mkdtemp(path.join(tmpdir(), 'millrace-uploads-')), producer, log);
    app = composeApi(
      loadConfig(),
      { kafka, registry, producer, admin, db, clickhouse },
      {
        log,
        topics: [],
        uploads,
      },
    ).app;
    const tenant = `models-${suffix}`;
    await createTenant(db, tenant);
    for (const role of ['admin', 'reader', 'operator'] as const) keys[role] = (await createKey(db, tenant, role)).key;
  });
  after(() => Promise.all([producer.disconnect(), admin.disconnect(), clickhouse.close()]));

  it('lists models and versions to readers; activating a platform model takes an operator and names the unknown model or version', async () => {
    await registerVersion(db, await versionDir({ id: TEST_MODEL, version: '2.0.0' }));
    const listed = (await (await call('/v1/models', keys.reader)).json()) as {
      models: { id: string; active_version: string | null; versions: number }[];
    };
    const mine = listed.models.find((m) => m.id === TEST_MODEL);
    assert.deepEqual([mine?.active_version, mine?.versions], ['3.0.0', 3]);

    const activate = (model: string, version: string, key = keys.operator) =>
      call(`/v1/models/${model}/versions/${version}/activate`, key, 'POST');
    assert.equal((await activate(TEST_MODEL, '2.0.0', '')).status, 401);
    const forbidden = await activate(TEST_MODEL, '2.0.0', keys.reader);
    assert.equal(forbidden.status, 403);
    assert.equal(((await forbidden.json()) as { error: string }).error, 'forbidden');
    // a tenant's admin reads the platform's models but never switches them for every tenant
    const tenantAdmin = await activate(TEST_MODEL, '2.0.0', keys.admin);
    assert.equal(tenantAdmin.status, 403);
    assert.match(((await tenantAdmin.json()) as { message: string }).message, /platform model: read-only to tenants/);

    const noModel = await activate(`nope-${suffix}`, '2.0.0');
    assert.equal(noModel.status, 404);
    assert.deepEqual(await noModel.json(), {
      error: 'not_found',
      message: `no model "nope-${suffix}" in the registry`,
      field: 'id',
      request_id: noModel.headers.get('x-request-id'),
    });
    const noVersion = await activate(TEST_MODEL, '9.9.9');
    assert.equal(noVersion.status, 404);
    assert.deepEqual(await noVersion.json(), {
      error: 'not_found',
      message: `model "${TEST_MODEL}" has no version "9.9.9"`,
      field: 'version',
      request_id: noVersion.headers.get('x-request-id'),
    });
    assert.equal((await call(`/v1/models/nope-${suffix}/versions`, keys.reader)).status, 404);

    const activated = await activate(TEST_MODEL, '2.0.0');
    assert.equal(activated.status, 200);
    const body = (await activated.json()) as Record<string, unknown>;
    assert.deepEqual(
      { ...body, sha256: undefined, created_at: undefined, activated_at: undefined },
      {
        model_id: TEST_MODEL,
        version: '2.0.0',
        stage: 'production',
        active: true,
        archived_at: null,
        previous_version: '3.0.0',
        sha256: undefined,
        created_at: undefined,
        activated_at: undefined,
      },
    );
    assert.ok(Date.now() - Date.parse(body.activated_at as string) < 60_000);

    const versions = (await (await call(`/v1/models/${TEST_MODEL}/versions`, keys.reader)).json()) as {
      versions: { version: string; active: boolean; manifest: { id: string } }[];
    };
    assert.deepEqual(
      versions.versions.map((v) => [v.version, v.active, v.manifest.id]),
      [
        ['1.0.0', false, TEST_MODEL],
        ['3.0.0', false, TEST_MODEL],
        ['2.0.0', true, TEST_MODEL],
      ],
    );

    const doc = (await (await call('/openapi.json', undefined)).json()) as { paths: Record<string, unknown> };
    for (const p of ['/v1/models', '/v1/models/{id}/versions', '/v1/models/{id}/versions/{version}/activate'])
      assert.ok(doc.paths[p], p);
  });

  it('Postgres itself refuses a second active version of a model', async () => {
    await assert.rejects(
      db.query('UPDATE model_versions SET active = true WHERE model_id = $1', [TEST_MODEL]),
      /model_versions_one_active/,
    );
  });
});

describe('following the active version', () => {
  it(
    'switches on the notification, and after a dropped connection catches up on what it missed',
    { timeout: 60_000 },
    async () => {
      await activateVersion(db, TEST_MODEL, '1.0.0');
      const seen: string[] = [];
      // a check interval of an hour: only notifications and reconnections can switch it here
      const watch = await watchActiveVersion(db, TEST_MODEL, async (v) => void seen.push(v.version), {
        log,
        checkIntervalMs: HOUR,
        reconnectMs: 2000,
      });
      try {
        assert.deepEqual(seen, ['1.0.0'], 'the active version on start');
        await activateVersion(db, TEST_MODEL, '2.0.0');
        await eventually('the notified switch to 2.0.0', () => (seen.at(-1) === '2.0.0' ? true : undefined), 10_000);

        const [dropped] = await listenerPids();
        assert.ok(dropped);
        await db.query('SELECT pg_terminate_backend($1)', [dropped]);
        await activateVersion(db, TEST_MODEL, '3.0.0'); // notified to nobody: the listener is gone for 2 s
        await eventually(
          'the switch to 3.0.0 after reconnecting',
          () => (seen.at(-1) === '3.0.0' ? true : undefined),
          20_000,
        );
        const [reconnected] = await listenerPids();
        assert.ok(reconnected && reconnected !== dropped, 'listening on a new connection');

        await activateVersion(db, TEST_MODEL, '1.0.0');
        await eventually(
          'the notified switch to 1.0.0 on the new connection',
          () => (seen.at(-1) === '1.0.0' ? true : undefined),
          10_000,
        );
        assert.deepEqual(seen, ['1.0.0', '2.0.0', '3.0.0', '1.0.0']);
      } finally {
        await watch.close();
      }
      assert.deepEqual(await listenerPids(), [], 'close ends the listener connection');
    },
  );

  it('a change that was never notified is picked up by the periodic check', { timeout: 30_000 }, async () => {
    const seen: string[] = [];
    const watch = await watchActiveVersion(db, TEST_MODEL, async (v) => void seen.push(v.version), {
      log,
      checkIntervalMs: 500,
    });
    try {
      assert.deepEqual(seen, ['1.0.0']);
      const client = await db.connect();
      try {
        await client.query('BEGIN');
        await client.query('UPDATE model_versions SET active = false WHERE model_id = $1', [TEST_MODEL]);
        await client.query("UPDATE model_versions SET active = true WHERE model_id = $1 AND version = '2.0.0'", [
          TEST_MODEL,
        ]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      await eventually('the checked switch to 2.0.0', () => (seen.at(-1) === '2.0.0' ? true : undefined), 10_000);
    } finally {
      await watch.close();
    }
  });
});

async function topic(name: string, schema: string): Promise<string> {
  const schemas = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');
  const resolved = resolveTopic(
    {
      name: `test.models_${name}_${suffix}.raw`,
      partitions: 3,
      cleanup: { policy: 'delete', retentionMs: 86_400_000 },
      schema,
    },
    schemas,
  );
  await provisionTopics(kafka, [resolved]);
  await registerSchemas(registry, [resolved]);
  return resolved.name;
}

describe('the finance processor', () => {
  let restore: string | undefined;
  after(async () => {
    if (restore) await activateVersion(db, FINANCE_MODEL_ID, restore);
    await db.query('DELETE FROM model_versions WHERE model_id = $1 AND version = $2', [FINANCE_MODEL_ID, FINANCE_V2]);
  });

  it(
    'activating a new model version mid-stream: scores before name the old version, after the new',
    { timeout: 180_000 },
    async () => {
      await registerBundledModels(db);
      restore = (await activeVersion(db, FINANCE_MODEL_ID))!.version;
      await activateVersion(db, FINANCE_MODEL_ID, '1.0.0');
      await registerVersion(db, await versionDir({ version: FINANCE_V2 }));

      const [input, output] = await Promise.all([
        topic('in', 'finance.statements.raw.avsc'),
        topic('out', 'finance.statements.scored.avsc'),
      ]);

      // an hour between checks: the switch can only come from the notification
      const spec = financeScoring({ input, output }, { checkIntervalMs: HOUR });
      const processor = await runProcessor(spec, { kafka, registry });
      const producer = new AvroProducer(kafka, registry);
      await producer.connect();
      const group = processorGroupOf(spec.name);
      try {
        await producer.send(
          input,
          statements('before', 300).map((value) => ({ value })),
        );
        await waitForCommitted(kafka, group, input, 300);
        assert.equal(spec.modelVersion(), '1.0.0');

        await activateVersion(db, FINANCE_MODEL_ID, FINANCE_V2);
        await eventually(
          `the processor to load ${FINANCE_V2}`,
          () => (spec.modelVersion() === FINANCE_V2 ? true : undefined),
          20_000,
        );

        await producer.send(
          input,
          statements('after', 300).map((value) => ({ value })),
        );
        await waitForCommitted(kafka, group, input, 600);
      } finally {
        await producer.disconnect();
        await processor.stop();
        await spec.close();
      }

      const scores = await Promise.all(
        (await readCommitted(kafka, output)).map(async (r) => (await registry.decode<ScoreRecord>(r.value)).value),
      );
      assert.equal(scores.length, 600);
      const versionsOf = (prefix: string) =>
        new Set(scores.filter((s) => s.id.startsWith(`${prefix}-`)).map((s) => `${s.model_id} ${s.model_version}`));
      assert.deepEqual(
        versionsOf('before'),
        new Set([`${FINANCE_MODEL_ID} 1.0.0`]),
        'every score before the activation names 1.0.0',
      );
      assert.deepEqual(
        versionsOf('after'),
        new Set([`${FINANCE_MODEL_ID} ${FINANCE_V2}`]),
        'every score after it names the new version',
      );
      // v2 is the same ONNX files, loaded from Postgres: the same statement gets the same probability
      const before = new Map(
        scores.filter((s) => s.id.startsWith('before-')).map((s) => [s.id.slice('before-'.length), s.probability]),
      );
      for (const s of scores.filter((x) => x.id.startsWith('after-')))
        assert.equal(s.probability, before.get(s.id.slice('after-'.length)), s.id);
    },
  );
});
