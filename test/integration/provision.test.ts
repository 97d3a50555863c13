import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { loadCatalogue } from '../../core/catalogue.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { ensureClickHouseDatabase, migrateClickHouse, migratePostgres, MigrationError } from '../../core/migrations.ts';
import { provisionAll } from '../../core/provision.ts';
import { Registry } from '../../core/schema-registry.ts';

describe('millrace provision', () => {
  it('creates topics, DLQs, subjects and tables; a second run changes nothing', async () => {
    const catalogue = loadCatalogue();
    await provisionAll(catalogue);
    const again = await provisionAll(catalogue);
    assert.deepEqual(again.topics, { created: [], grown: [], reconfigured: [] });
    assert.deepEqual(again.migrations, { postgres: [], clickhouse: [] });

    const admin = createKafka('millrace-test').admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: catalogue.flatMap((t) => [t.name, t.dlq]) });
      for (const t of catalogue) {
        assert.equal(topics.find((m) => m.name === t.name)?.partitions.length, t.partitions);
        assert.equal(topics.find((m) => m.name === t.dlq)?.partitions.length, 1);
      }
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: kafkajs.ConfigResourceTypes.TOPIC,
            name: 'market.quotes.raw',
            configNames: ['retention.ms', 'cleanup.policy'],
          },
        ],
      });
      const entries = Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
      assert.deepEqual(entries, { 'retention.ms': String(30 * 86_400_000), 'cleanup.policy': 'delete' });
    } finally {
      await admin.disconnect();
    }

    const registry = new Registry();
    for (const t of catalogue) {
      assert.equal(again.schemas[t.subject], await registry.latestId(t.subject));
      assert.equal(await registry.compatibility(t.subject), 'BACKWARD');
    }

    const pool = new pg.Pool({ connectionString: loadConfig().POSTGRES_URL });
    try {
      const { rows } = await pool.query<{ name: string }>('SELECT name FROM millrace_schema_migrations ORDER BY name');
      assert.ok(rows.some((r) => r.name === '0001_sink_offsets.sql'));
      await pool.query('SELECT sink, topic, partition, next_offset FROM sink_offsets LIMIT 1');
    } finally {
      await pool.end();
    }
  });
});

describe('migrations against the real databases', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-mig-'));

  it('Postgres: applies each file once, in a transaction, and refuses an edited one', async () => {
    const db = `millrace_test_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: loadConfig().POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    const url = loadConfig().POSTGRES_URL.replace(/\/[^/]+$/, `/${db}`);
    try {
      writeFileSync(path.join(dir, '0001_things.sql'), 'CREATE TABLE things (id text PRIMARY KEY);');
      assert.deepEqual(await migratePostgres(url, dir), ['0001_things.sql']);
      assert.deepEqual(await migratePostgres(url, dir), []);

      writeFileSync(
        path.join(dir, '0002_broken.sql'),
        'CREATE TABLE half (id text);\nSELECT no_such_column FROM things;',
      );
      await assert.rejects(
        migratePostgres(url, dir),
        /postgres migration 0002_broken.sql failed: column "no_such_column" does not exist/,
      );
      const probe = new pg.Client({ connectionString: url });
      await probe.connect();
      const { rows } = await probe.query("SELECT to_regclass('half') AS t");
      await probe.end();
      assert.equal(rows[0].t, null, 'a failed migration leaves nothing behind');

      writeFileSync(path.join(dir, '0002_broken.sql'), 'SELECT 1;');
      writeFileSync(path.join(dir, '0001_things.sql'), 'CREATE TABLE things (id text PRIMARY KEY, x int);');
      await assert.rejects(
        migratePostgres(url, dir),
        (e: unknown) =>
          e instanceof MigrationError && /0001_things.sql was edited after it was applied/.test(e.message),
      );
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('ClickHouse: applies each file once, statement by statement', async () => {
    const db = `millrace_test_${randomBytes(4).toString('hex')}`;
    const bootstrap = createClickHouse('default');
    await ensureClickHouseDatabase(bootstrap, db);
    const client = createClickHouse(db);
    const chDir = mkdtempSync(path.join(tmpdir(), 'millrace-ch-'));
    try {
      writeFileSync(
        path.join(chDir, '0001_events.sql'),
        '-- two statements\nCREATE TABLE IF NOT EXISTS events (id String, v Int64) ENGINE = MergeTree() ORDER BY id;\nCREATE TABLE IF NOT EXISTS events_copy (id String) ENGINE = MergeTree() ORDER BY id;\n',
      );
      assert.deepEqual(await migrateClickHouse(client, chDir), ['0001_events.sql']);
      assert.deepEqual(await migrateClickHouse(client, chDir), []);
      const result = await client.query({ query: 'SHOW TABLES', format: 'JSONEachRow' });
      const tables = (await result.json<{ name: string }>()).map((r) => r.name).sort();
      assert.deepEqual(tables, ['events', 'events_copy', 'millrace_schema_migrations']);
    } finally {
      await bootstrap.command({ query: `DROP DATABASE IF EXISTS ${db}` });
      await Promise.all([client.close(), bootstrap.close()]);
    }
  });
});
