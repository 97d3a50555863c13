/**
 * `REBUILD TABLE` in a ClickHouse migration (core/clickhouse-rebuild.ts) on a table holding data in
 * an earlier layout: the process running it is killed in the middle of the copy, provisioning again
 * finishes it with every row once; a rebuild whose table gains rows while it copies refuses to swap
 * and succeeds when run again after the writes stopped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config.ts';
import { after, before, describe, it } from 'node:test';
import { createClickHouse, type ClickHouseClient } from '../../core/clickhouse.ts';
import { TableRebuild } from '../../core/clickhouse-rebuild.ts';
import { ensureClickHouseDatabase, migrateClickHouse } from '../../core/migrations.ts';
import { eventually } from '../../testkit/helpers.ts';

const MONTHS = 12;
const PER_MONTH = 400_000;
const NEW_LAYOUT = 'ENGINE = MergeTree() PARTITION BY toYYYYMM(ts) ORDER BY (tenant_id, ts, id)';

/** An events table in the old layout (sorted by id alone), MONTHS monthly partitions of PER_MONTH rows. */
async function oldLayout(ch: ClickHouseClient, table: string): Promise<void> {
  await ch.command({
    query: `CREATE TABLE ${table} (id String, tenant_id String, ts DateTime, amount UInt64)
            ENGINE = MergeTree() PARTITION BY toYYYYMM(ts) ORDER BY id`,
  });
  for (let month = 0; month < MONTHS; month++) {
    await ch.command({
      query: `INSERT INTO ${table} SELECT concat('e-', toString(${month}), '-', toString(number)), concat('t-', toString(number % 30)),
                toDateTime('2025-01-01 00:00:00') + ${month * 31 * 86_400} + number % 86400, number FROM system.numbers LIMIT ${PER_MONTH}`,
    });
  }
}

async function figures(ch: ClickHouseClient, table: string) {
  const read = async <T>(query: string) => (await (await ch.query({ query, format: 'JSONEachRow' })).json<T>())[0]!;
  const sums = await read<{ rows: string; ids: string; amount: string }>(
    `SELECT count() AS rows, uniqExact(id) AS ids, sum(amount) AS amount FROM ${table}`,
  );
  const { sorting_key } = await read<{ sorting_key: string }>(
    `SELECT sorting_key FROM system.tables WHERE database = currentDatabase() AND name = '${table}'`,
  );
  return { ...sums, sorting_key };
}

const tablesLike = async (ch: ClickHouseClient, table: string) =>
  (
    await (
      await ch.query({
        query: `SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, '${table}') ORDER BY name`,
        format: 'JSONEachRow',
      })
    ).json<{ name: string }>()
  ).map((r) => r.name);

describe('REBUILD TABLE', () => {
  const database = `millrace_rebuild_${randomBytes(4).toString('hex')}`;
  let ch: ClickHouseClient;
  before(async () => {
    const server = createClickHouse('default');
    await ensureClickHouseDatabase(server, database).finally(() => server.close());
    ch = createClickHouse(database);
  });
  after(async () => {
    await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await ch.close();
  });

  it(
    'killed in the middle of the copy, provisioning again finishes it with every row once',
    { timeout: 300_000 },
    async () => {
      await oldLayout(ch, 'events');
      const expected = { rows: String(MONTHS * PER_MONTH), ids: String(MONTHS * PER_MONTH) };
      const { amount } = await figures(ch, 'events');
      const migrations = mkdtempSync(path.join(tmpdir(), 'millrace-rebuild-'));
      writeFileSync(path.join(migrations, '0001_events_by_tenant.sql'), `REBUILD TABLE events ${NEW_LAYOUT};\n`);

      // `millrace provision` would run this: the migration runner, as its own process, killed mid-copy
      const runner = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `import { createClickHouse } from ${JSON.stringify(path.join(loadConfig().repoRoot, 'core/clickhouse.ts'))};
         import { migrateClickHouse } from ${JSON.stringify(path.join(loadConfig().repoRoot, 'core/migrations.ts'))};
         await migrateClickHouse(createClickHouse(${JSON.stringify(database)}), ${JSON.stringify(migrations)});`,
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      const exited = new Promise<number | null>((resolve) => runner.on('exit', (code) => resolve(code)));
      const copied = async () =>
        Number(
          (
            await (
              await ch.query({ query: 'SELECT count() AS n FROM millrace_rebuild_progress', format: 'JSONEachRow' })
            ).json<{ n: string }>()
          )[0]!.n,
        );
      await eventually(
        'three partitions copied',
        async () => ((await tablesLike(ch, 'millrace_rebuild')).length > 0 && (await copied()) >= 3 ? true : undefined),
        120_000,
      );
      runner.kill('SIGKILL');
      await exited;
      const partial = await copied();
      assert.ok(partial < MONTHS, `killed part way (${partial} of ${MONTHS} partitions recorded)`);
      assert.deepEqual(
        await tablesLike(ch, 'events'),
        ['events', 'events__next'],
        'the old table untouched, the copy in progress',
      );
      assert.equal((await figures(ch, 'events')).rows, expected.rows);

      assert.deepEqual(await migrateClickHouse(ch, migrations), ['0001_events_by_tenant.sql']);
      assert.deepEqual(await tablesLike(ch, 'events'), ['events'], 'swapped, nothing left behind');
      assert.deepEqual(await figures(ch, 'events'), {
        ...expected,
        amount,
        sorting_key: 'tenant_id, ts, id',
      });
    },
  );

  it(
    'refuses to swap while the table gains rows, and succeeds once the writes stopped',
    { timeout: 120_000 },
    async () => {
      await ch.command({
        query: `CREATE TABLE busy (id String, tenant_id String, ts DateTime, amount UInt64) ENGINE = MergeTree() PARTITION BY toYYYYMM(ts) ORDER BY id`,
      });
      for (const month of ['2025-01-15', '2025-02-15', '2025-03-15'])
        await ch.command({
          query: `INSERT INTO busy SELECT toString(number), 't', toDateTime('${month} 00:00:00'), number FROM system.numbers LIMIT 1000`,
        });
      // a sink still writing: after the first partition's copy, a row lands in it
      const writing = new TableRebuild(ch, 'busy', NEW_LAYOUT, 'test', async (partition) => {
        if (partition === '202501')
          await ch.command({ query: "INSERT INTO busy VALUES ('late', 't', toDateTime('2025-01-20 00:00:00'), 1)" });
      });
      await assert.rejects(writing.run(), /refusing to swap, busy holds 3001 rows and busy__next 3000/);
      assert.deepEqual(await tablesLike(ch, 'busy'), ['busy', 'busy__next']);

      await new TableRebuild(ch, 'busy', NEW_LAYOUT, 'test').run();
      assert.deepEqual(await tablesLike(ch, 'busy'), ['busy']);
      assert.deepEqual(await figures(ch, 'busy'), {
        rows: '3001',
        ids: '1001', // each month numbers its rows from 0
        amount: String(3 * 499_500 + 1),
        sorting_key: 'tenant_id, ts, id',
      });
    },
  );
});
