/**
 * The tenant-identity migrations (postgres 0016, clickhouse 0008) on databases that hold rows in the
 * old layout (keys on id alone): every row is kept, the keys become (tenant_id, id), and the same id
 * can then be stored under a second tenant. The ClickHouse file also runs again after it finished
 * (what provisioning does after a failure part way) without losing or doubling a row.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { parseRebuild, TableRebuild } from '../../core/clickhouse-rebuild.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import {
  ensureClickHouseDatabase,
  migrateClickHouse,
  migratePostgres,
  splitStatements,
} from '../../core/migrations.ts';

const sqlRoot = path.join(loadConfig().repoRoot, 'sql');

/** A folder holding the migrations of `kind` that come before `first`: the old layout. */
function migrationsBefore(kind: 'postgres' | 'clickhouse', first: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `millrace-${kind}-old-`));
  for (const name of readdirSync(path.join(sqlRoot, kind)).filter((f) => f < first))
    copyFileSync(path.join(sqlRoot, kind, name), path.join(dir, name));
  return dir;
}

const keyColumns = async (client: pg.Client, table: string) =>
  (
    await client.query<{ attname: string }>(
      `SELECT a.attname FROM pg_index i CROSS JOIN unnest(i.indkey) WITH ORDINALITY AS k (attnum, n)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.n`,
      [table],
    )
  ).rows.map((r) => r.attname);

describe('tenant identity migrations on the old layout', () => {
  const run = randomBytes(4).toString('hex');
  const database = `millrace_migration_${run}`;
  const base = loadConfig().POSTGRES_URL;
  const url = base.replace(/\/[^/]+$/, `/${database}`);
  after(async () => {
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database}`).finally(() => admin.end());
    const ch = createClickHouse('default');
    await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` }).finally(() => ch.close());
  });

  it('Postgres: rows kept, keys (tenant_id, id), the same id then stored for a second tenant', async () => {
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`).finally(() => admin.end());
    assert.ok((await migratePostgres(url, migrationsBefore('postgres', '0016'))).length >= 15);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query("INSERT INTO tenants (id, name) VALUES ('t-a', 't-a'), ('t-b', 't-b')");
      await client.query(
        `INSERT INTO samples_flights SELECT 'f-' || n, 't-a', now(), 'ORD', 'SFO', n, n, 0, n FROM generate_series(1, 500) n`,
      );
      await client.query(
        `INSERT INTO finance_statements (id, tenant_id, company_id, period_end, kind, source)
         SELECT 'fs-' || n, 't-a', 'c-' || n, '2025-12-31', 'annual', 'api' FROM generate_series(1, 50) n`,
      );
      await client.query(
        `INSERT INTO finance_scores SELECT 'fs-' || n, 't-a', 'c-' || n, '2025-12-31', 'annual', 0.1, 0.2, 0.3, 2.5, 'grey',
           n / 100.0, 'low', 'm', '1', now(), 0, n FROM generate_series(1, 50) n`,
      );
      await client.query(
        `INSERT INTO market_latest (symbol_key, tenant_id, symbol, quote_id, ts, close, updated_at, source_partition, source_offset)
         VALUES ('t-a:MSFT', 't-a', 'MSFT', 'q1', now(), 410.5, now(), 0, 1)`,
      );
      const before = await client.query(
        'SELECT (SELECT sum(distance) FROM samples_flights) AS d, (SELECT sum(probability) FROM finance_scores) AS p',
      );

      assert.deepEqual((await migratePostgres(url))[0], '0016_tenant_identity.sql');
      for (const table of ['samples_flights', 'finance_scores', 'finance_statements'])
        assert.deepEqual(await keyColumns(client, table), ['tenant_id', 'id'], table);
      assert.deepEqual(await keyColumns(client, 'market_latest'), ['tenant_id', 'symbol']);
      const afterwards = await client.query(
        'SELECT (SELECT sum(distance) FROM samples_flights) AS d, (SELECT sum(probability) FROM finance_scores) AS p',
      );
      assert.deepEqual(afterwards.rows, before.rows, 'every row kept, figures unchanged');

      // the old key refused this: t-b's flight f-1 beside t-a's
      await client.query(`INSERT INTO samples_flights VALUES ('f-1', 't-b', now(), 'ATL', 'DFW', 7, 0, 0, 501)`);
      await client.query(
        `INSERT INTO finance_statements (id, tenant_id, company_id, period_end, kind, source) VALUES ('fs-1', 't-b', 'c-1', '2025-12-31', 'annual', 'api')`,
      );
      const { rows } = await client.query(
        "SELECT tenant_id, distance FROM samples_flights WHERE id = 'f-1' ORDER BY 1",
      );
      assert.deepEqual(rows, [
        { tenant_id: 't-a', distance: 1 },
        { tenant_id: 't-b', distance: 7 },
      ]);
    } finally {
      await client.end();
    }
  });

  it('ClickHouse: rows and lineage kept, sorting keys (tenant_id, id), views still answer, a second run harmless', async () => {
    const server = createClickHouse('default');
    await ensureClickHouseDatabase(server, database).finally(() => server.close());
    const ch = createClickHouse(database);
    try {
      assert.ok((await migrateClickHouse(ch, migrationsBefore('clickhouse', '0008'))).length >= 7);
      await ch.command({
        query: `INSERT INTO samples_flights SELECT concat('f-', toString(number)), 't-a', now(), 'ORD', 'SFO', number, 1, 'samples.flights.raw', 0, number FROM system.numbers LIMIT 1000`,
      });
      await ch.command({
        query: `INSERT INTO finance_scores SELECT concat('fs-', toString(number)), 't-a', concat('c-', toString(number)), toDate('2025-12-31'), 'annual',
                  0.1, 0.2, 0.3, 2.5, 'grey', number / 100, 'low', 'm', '1', now(), 'finance.statements.scored', 1, number FROM system.numbers LIMIT 100`,
      });
      await ch.command({
        query: `INSERT INTO catalog_rows SELECT concat('r-', toString(number)), 't-a', 'u-1', number, 'tax', 'genre', 0.9, 'rule', '', '', '{}', '{}', now(),
                  'catalog.rows.classified', 2, number FROM system.numbers LIMIT 100`,
      });
      const figures = async () =>
        (
          await ch.query({
            query: `SELECT (SELECT count() FROM samples_flights) AS flights, (SELECT sum(distance) FROM samples_flights) AS distance,
                           (SELECT max(_offset) FROM samples_flights WHERE _partition = 0) AS last_offset,
                           (SELECT count() FROM finance_scores) AS scores, (SELECT count() FROM catalog_rows) AS rows,
                           (SELECT sum(statements) FROM finance_category_counts) AS counted`,
            format: 'JSONEachRow',
          })
        ).json();
      const before = await figures();

      assert.deepEqual(await migrateClickHouse(ch, migrationsBefore('clickhouse', '0009')), [
        '0008_tenant_identity.sql',
      ]);
      const sortingKeys = await (
        await ch.query({
          query: `SELECT name, sorting_key FROM system.tables WHERE database = currentDatabase()
                   AND name IN ('samples_flights', 'finance_scores', 'catalog_rows') ORDER BY name`,
          format: 'JSONEachRow',
        })
      ).json();
      assert.deepEqual(sortingKeys, [
        { name: 'catalog_rows', sorting_key: 'tenant_id, id' },
        { name: 'finance_scores', sorting_key: 'tenant_id, id' },
        { name: 'samples_flights', sorting_key: 'tenant_id, id' },
      ]);
      assert.deepEqual(await figures(), before, 'rows, lineage and the rollup views as they were');

      // provisioning again after a crash between the rebuilds and the file's record runs them again
      const file = readFileSync(path.join(sqlRoot, 'clickhouse', '0008_tenant_identity.sql'), 'utf8');
      for (const statement of splitStatements(file)) {
        const { table, layout } = parseRebuild(statement)!;
        await new TableRebuild(ch, table, layout, '0008_tenant_identity.sql').run();
      }
      assert.deepEqual(await figures(), before, 'a second run neither loses nor doubles a row');
      const leftovers = await (
        await ch.query({
          query: `SELECT name FROM system.tables WHERE database = currentDatabase() AND (endsWith(name, '__next') OR endsWith(name, '__old'))`,
          format: 'JSONEachRow',
        })
      ).json();
      assert.deepEqual(leftovers, [], 'no copy left behind');
    } finally {
      await ch.close();
    }
  });
});
