/**
 * ClickHouse on the local cluster's two replicas (CLICKHOUSE_REPLICAS): the migrations' replicated
 * variant, a REBUILD TABLE of a table holding rows (stopped part way and run again) and a backfill,
 * and the sink when the replica it would read lags: its fetches held back, the rows another replica
 * took are missing there, and the sink must neither write them twice nor skip any.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClickHouseReplicas } from '../../connectors/sinks/clickhouse/replicas.ts';
import { ClickHouseWriter } from '../../connectors/sinks/clickhouse/writer.ts';
import { checkSpec } from '../../connectors/sinks/runtime/spec.ts';
import type { PartitionBatch, PreparedRow } from '../../connectors/sinks/runtime/writer.ts';
import { createClickHouse, type ClickHouseClient } from '../../core/clickhouse.ts';
import { TableRebuild } from '../../core/clickhouse-rebuild.ts';
import { replicatedEngine, zookeeperPath } from '../../core/clickhouse-replicated.ts';
import { ensureClickHouseDatabase, migrateClickHouse } from '../../core/migrations.ts';
import { CLUSTER_SERVICE_NAMES, infraDown, infraStatus, infraUp, type ServiceName } from '../../infra/index.ts';
import { clusterClickHouseUrls } from '../../infra/cluster.ts';

const run = randomBytes(3).toString('hex');
const database = `test_replicas_${run}`;
let startedHere: ServiceName[] = [];
let replicas: ClickHouseClient[] = [];

before(async () => {
  const up = new Set((await infraStatus({ cluster: true })).filter((s) => s.health === 'up').map((s) => s.service));
  await infraUp(undefined, { cluster: true });
  startedHere = CLUSTER_SERVICE_NAMES.filter((name) => !up.has(name));
  for (const url of clusterClickHouseUrls()) {
    const server = createClickHouse('default', url);
    await ensureClickHouseDatabase(server, database).finally(() => server.close());
  }
  replicas = clusterClickHouseUrls().map((url) => createClickHouse(database, url));
});
after(async () => {
  for (const replica of replicas) {
    await replica.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await replica.close();
  }
  if (startedHere.length > 0) await infraDown(startedHere);
});

const count = async (client: ClickHouseClient, query: string): Promise<number> =>
  Number((await (await client.query({ query, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);

const engineOf = async (client: ClickHouseClient, table: string) =>
  (
    await (
      await client.query({
        query: `SELECT engine_full AS e FROM system.tables WHERE database = currentDatabase() AND name = '${table}'`,
        format: 'JSONEachRow',
      })
    ).json<{ e: string }>()
  )[0]?.e;

describe('replicated ClickHouse migrations', () => {
  it('create replicated tables on both replicas, rebuild one holding rows (stopped part way, run again) and backfill once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'millrace-replicas-'));
    writeFileSync(
      path.join(dir, '0001_events.sql'),
      `CREATE TABLE IF NOT EXISTS events (tenant_id String, id String, at DateTime, _offset UInt64)
         ENGINE = ReplacingMergeTree(_offset) PARTITION BY toYYYYMM(at) ORDER BY id;\n`,
    );
    const [first, second] = replicas as [ClickHouseClient, ClickHouseClient];
    assert.deepEqual(await migrateClickHouse(first, dir, { database, followers: [second] }), ['0001_events.sql']);
    assert.match(
      (await engineOf(second, 'events'))!,
      /^ReplicatedReplacingMergeTree\('.*\/events\/0001_events', '\{replica\}', _offset\)/,
    );

    // 3 months x 1,000 rows, inserted into the first replica only
    await first.command({
      query: `INSERT INTO events SELECT 't' || toString(number % 3), toString(number), toDateTime('2026-01-15 00:00:00') + (number % 3) * 2678400, number FROM numbers(3000)`,
    });
    const rebuild = `REBUILD TABLE events ENGINE = ReplacingMergeTree(_offset) PARTITION BY toYYYYMM(at) ORDER BY (tenant_id, at, id)`;
    writeFileSync(
      path.join(dir, '0002_tenant_first.sql'),
      `${rebuild};
CREATE TABLE IF NOT EXISTS events_per_tenant (tenant_id String, n AggregateFunction(count)) ENGINE = AggregatingMergeTree() ORDER BY tenant_id;
TRUNCATE TABLE events_per_tenant;
INSERT INTO events_per_tenant SELECT tenant_id, countState() FROM events GROUP BY tenant_id;
SELECT throwIf((SELECT count() FROM events) != (SELECT countMerge(n) FROM events_per_tenant));\n`,
    );
    // the first attempt stops after its first partition
    const layout = replicatedEngine(
      'ENGINE = ReplacingMergeTree(_offset) PARTITION BY toYYYYMM(at) ORDER BY (tenant_id, at, id)',
      zookeeperPath(database, 'events', '0002_tenant_first.sql'),
    );
    const stopped = new TableRebuild(
      first,
      'events',
      layout,
      '0002_tenant_first.sql',
      () => {
        throw new Error('killed');
      },
      { followers: [second] },
    );
    await assert.rejects(stopped.run(), /killed/);

    assert.deepEqual(await migrateClickHouse(first, dir, { database, followers: [second] }), ['0002_tenant_first.sql']);
    assert.deepEqual(await migrateClickHouse(first, dir, { database, followers: [second] }), []);
    for (const replica of replicas) {
      await replica.command({ query: 'SYSTEM SYNC REPLICA events' });
      await replica.command({ query: 'SYSTEM SYNC REPLICA events_per_tenant' });
      assert.match(
        (await engineOf(replica, 'events'))!,
        /\/events\/0002_tenant_first', '\{replica\}', _offset\).*ORDER BY \(tenant_id, at, id\)/,
      );
      assert.equal(await count(replica, 'SELECT count() AS n FROM events'), 3000);
      assert.equal(await count(replica, 'SELECT uniqExact(_offset) AS n FROM events'), 3000);
      // the backfill ran on the first replica only and reached the second by replication: counted once
      assert.equal(await count(replica, 'SELECT countMerge(n) AS n FROM events_per_tenant'), 3000);
      assert.equal(
        await count(
          replica,
          `SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name IN ('events__next', 'events__old')`,
        ),
        0,
      );
    }
  });
});

describe('the ClickHouse sink on replicas', () => {
  const table = 'flights_sink';
  const topic = `test.replicas.${run}`;
  const spec = checkSpec({
    name: 'test-replicas',
    topic,
    target: 'clickhouse',
    table,
    key: ['tenant_id', 'id'],
    columns: { tenant_id: () => null, id: () => null },
  });
  const batch = (from: number, to: number, verify: boolean): PartitionBatch => ({
    clusterId: 'test',
    topic,
    partition: 0,
    start: BigInt(from),
    next: BigInt(to),
    verify,
    rows: Array.from({ length: to - from }, (_, i): PreparedRow => ({
      offset: BigInt(from + i),
      cells: ['t1', `f${from + i}`],
      source: { topic, partition: 0, offset: String(from + i), key: null, value: null, headers: {} } as never,
    })),
  });
  const noRefusal = async () => assert.fail('no row is refused');

  it('reads what the table holds from a replica that caught up, not from one whose fetches are held back', async () => {
    const [first, second] = replicas as [ClickHouseClient, ClickHouseClient];
    for (const replica of replicas)
      await replica.command({
        query: `CREATE TABLE ${table} (tenant_id String, id String, _topic String, _partition UInt32, _offset UInt64)
          ENGINE = ReplicatedReplacingMergeTree('${zookeeperPath(database, table, 'test')}', '{replica}', _offset) ORDER BY (tenant_id, id)`,
      });
    // the second replica's replication queue is held back: it takes no part the first one writes
    await second.command({ query: `SYSTEM STOP FETCHES ${table}` });
    try {
      const crashed = new ClickHouseWriter(
        spec,
        new ClickHouseReplicas([createClickHouse(database, clusterClickHouseUrls()[0])]),
      );
      await crashed.check();
      await crashed.positions(topic, [0]);
      assert.equal((await crashed.write(batch(0, 100, false), noRefusal)).written, 100);
      await crashed.close();
      // ...then that sink stops before Kafka's offset is committed, and one preferring the lagging replica takes over
      assert.equal(await count(second, `SELECT count() AS n FROM ${table}`), 0);
      const [url1, url2] = clusterClickHouseUrls() as [string, string];
      const successor = new ClickHouseWriter(
        spec,
        new ClickHouseReplicas([createClickHouse(database, url2), createClickHouse(database, url1)], 2),
      );
      await successor.check();
      await successor.positions(topic, [0]);
      const outcome = await successor.write(batch(0, 150, true), noRefusal);
      await successor.close();
      assert.equal(outcome.written, 50, 'the 100 rows the first replica holds are not written again');
    } finally {
      await second.command({ query: `SYSTEM START FETCHES ${table}` });
    }
    for (const replica of [first, second]) {
      await replica.command({ query: `SYSTEM SYNC REPLICA ${table}` });
      assert.equal(await count(replica, `SELECT count() AS n FROM ${table}`), 150);
      assert.equal(await count(replica, `SELECT uniqExact(_offset) AS n FROM ${table}`), 150);
    }
  });
});
