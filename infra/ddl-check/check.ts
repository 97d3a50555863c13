/**
 * Applies sql/clickhouse to a newer ClickHouse than Debian's 18.16: the real engine, embedded (chDB's
 * libchdb.so from the npm package @chdb/lib-linux-x64-gnu, ClickHouse 26.7), in a scratch data dir.
 * There is no Docker here to run docker-compose.yml's 24.8 server, and no 24.x binary in the
 * registries this machine reaches; sql/clickhouse/README.md says what passing here does and does not
 * prove about 24.8.
 *
 * 1. Every statement of every migration, split as core/migrations.ts splits them; a `REBUILD TABLE`
 *    runs core/clickhouse-rebuild.ts itself. Rows are seeded after 0007, so the rebuilds copy
 *    partitions and 0010's backfill checks count something. An error is reported and the next
 *    statement runs.
 * 2. The migration runner (migrateClickHouse) on a fresh database, twice: the second applies nothing.
 * 3. What sql-users does to ClickHouse (infra/sql-users/tenant-database.ts) for one tenant, and
 *    behaviour the DDL's comments promise and 18.16 has: rollups count what their table counts, also
 *    after a REBUILD TABLE of samples_flights (a view feeds by its source's name), and a tenant's copy
 *    stays fed. The users.d XML files of sql-users are not checked (chDB has no users to log in as).
 *
 *   npx tsx infra/ddl-check/check.ts [--strict]
 *
 * Exits 1 when a migration statement, the runner or the sql-users sync fails; a behaviour that differs
 * from 18.16's (a DIFF line) is reported, and fails the check only with --strict, since it is this
 * engine's behaviour and 24.8's may be 18.16's (sql/clickhouse/README.md).
 *
 * The engine (~180 MB download, ~570 MB unpacked) is fetched once by `npm pack` into
 * $MILLRACE_HOME/lib/chdb-<version>; CHDB_DIR points at another copy.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { loadConfig } from '../../core/config.ts';
import { migrateClickHouse, readMigrations, splitStatements } from '../../core/migrations.ts';
import { parseRebuild, TableRebuild } from '../../core/clickhouse-rebuild.ts';
import { libDir } from '../paths.ts';
import { sqlUserNames } from '../sql-users/names.ts';
import { syncTenantDatabase } from '../sql-users/tenant-database.ts';

const ENGINE_PACKAGE = '@chdb/lib-linux-x64-gnu';
const ENGINE_VERSION = '26.7.3-stable.1';
/** The tables the ClickHouse sinks write (bin/commands/sql-users.ts factTables(), which infra cannot import). */
const FACT_TABLES = [
  'samples_flights',
  'finance_scores',
  'catalog_rows',
  'market_quotes',
  'market_indicators',
  'model_scores',
  'model_shadow_scores',
];
/** Behaviour differences (DIFF) fail the check too. */
const STRICT = process.argv.includes('--strict');
/** Migrations up to this one run before rows are seeded. */
const SEED_AFTER = '0007';

/** The report goes to stdout, line by line. */
const say = (line: string) => void process.stdout.write(`${line}\n`);

interface Chdb {
  CreateConnection(dataPath: string): unknown;
  QueryWithConnection(connection: unknown, query: string, format: string): string;
}

function engineDir(): string {
  if (process.env.CHDB_DIR) return process.env.CHDB_DIR;
  const dir = path.join(libDir, `chdb-${ENGINE_VERSION}`);
  if (fs.existsSync(path.join(dir, 'chdb_node.node'))) return dir;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chdb-pack-'));
  say(`fetching ${ENGINE_PACKAGE}@${ENGINE_VERSION} into ${dir} (once)`);
  const tgz = execFileSync('npm', ['pack', `${ENGINE_PACKAGE}@${ENGINE_VERSION}`, '--pack-destination', tmp], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
    .trim()
    .split('\n')
    .pop()!;
  fs.mkdirSync(`${dir}.partial`, { recursive: true });
  execFileSync('tar', ['xzf', path.join(tmp, tgz), '-C', `${dir}.partial`, '--strip-components=1']);
  fs.renameSync(`${dir}.partial`, dir);
  fs.rmSync(tmp, { recursive: true, force: true });
  return dir;
}

/** The two calls of ClickHouseClient that migrations, rebuilds and sql-users make, on one chDB connection. */
function chdbClient(chdb: Chdb, connection: unknown, log: string[]): ClickHouseClient {
  const run = (query: string, format: string) => {
    log.push(query);
    return chdb.QueryWithConnection(connection, query, format);
  };
  const client = {
    command: async ({ query }: { query: string }) => (run(query, 'TSV'), {}),
    query: async ({ query }: { query: string }) => {
      const text = run(query, 'JSONEachRow');
      return {
        json: async () =>
          text
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as unknown),
      };
    },
  };
  return client as unknown as ClickHouseClient;
}

const oneLine = (sql: string, width = 100) => {
  const line = sql.replace(/\s+/g, ' ').trim();
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
};

async function main(): Promise<number> {
  const dir = engineDir();
  const chdb = createRequire(import.meta.url)(path.join(dir, 'chdb_node.node')) as Chdb;
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-ddl-check-'));
  const connection = chdb.CreateConnection(data);
  const log: string[] = [];
  const client = chdbClient(chdb, connection, log);
  const rows = async <T>(query: string) => (await client.query({ query, format: 'JSONEachRow' })).json<T>();
  const count = async (query: string) => Number((await rows<{ n: string }>(query))[0]!.n);
  const [version] = await rows<{ v: string }>('SELECT version() AS v');
  say(`ClickHouse ${version!.v} (chDB ${ENGINE_VERSION}), data in ${data}\n`);

  const sqlDir = path.join(loadConfig().repoRoot, 'sql', 'clickhouse');
  let checked = 0;
  let ok = 0;
  const failures: string[] = [];
  const fail = (what: string) => {
    failures.push(what);
    say(`  FAIL ${what}`);
  };

  say('1. every migration statement, in order (database ddl_check)');
  await client.command({ query: 'CREATE DATABASE ddl_check' });
  await client.command({ query: 'USE ddl_check' });
  let seeded = false;
  for (const migration of readMigrations(sqlDir)) {
    if (!seeded && migration.name > SEED_AFTER) {
      await seed(client);
      seeded = true;
    }
    for (const statement of splitStatements(migration.sql)) {
      checked++;
      const rebuild = parseRebuild(statement);
      try {
        if (rebuild) await new TableRebuild(client, rebuild.table, rebuild.layout, migration.name).run();
        else await client.command({ query: statement });
        ok++;
        say(`  OK   ${migration.name}: ${oneLine(statement)}`);
      } catch (error) {
        say(`  ERR  ${migration.name}: ${oneLine(statement)}\n       ${(error as Error).message}`);
        failures.push(`${migration.name}: ${oneLine(statement, 60)}`);
      }
    }
  }
  say(`  ${checked} statements, ${ok} OK, ${checked - ok} errors\n`);

  say('2. the migration runner, twice, on a fresh database (ddl_check_runner)');
  await client.command({ query: 'CREATE DATABASE ddl_check_runner' });
  await client.command({ query: 'USE ddl_check_runner' });
  try {
    const first = await migrateClickHouse(client, sqlDir);
    const second = await migrateClickHouse(client, sqlDir);
    say(`  first run applied ${first.length} migrations, second run ${second.length}`);
    if (first.length !== readMigrations(sqlDir).length || second.length !== 0) fail('runner applied the wrong count');
  } catch (error) {
    fail(`runner: ${(error as Error).message}`);
  }
  await client.command({ query: 'USE ddl_check' });

  say('\n3. behaviour (database ddl_check)');
  const diffs: string[] = [];
  const expect = async (what: string, left: string, right: string) => {
    const [a, b] = [await count(left), await count(right)];
    if (a === b) say(`  OK   ${what}: ${a}`);
    else {
      diffs.push(`${what}: ${a} vs ${b}`);
      say(`  DIFF ${what}: ${a} vs ${b}`);
    }
  };
  const rollups = async (when: string) => {
    for (const rollup of ['samples_flights_daily', 'samples_flights_daily_origin', 'samples_flights_hourly'])
      await expect(
        `${rollup} counts what samples_flights counts ${when}`,
        `SELECT countMerge(flights) AS n FROM ${rollup}`,
        'SELECT count() AS n FROM samples_flights',
      );
  };
  const tenant = sqlUserNames('ddl_check', 'acme');
  const tenantCopy = async (when: string) => {
    for (const table of ['samples_flights', 'finance_scores'])
      await expect(
        `${tenant.database}.${table} holds acme's rows ${when}`,
        `SELECT count() AS n FROM \`${tenant.database}\`.${table}`,
        `SELECT count() AS n FROM ${table} WHERE tenant_id = 'acme'`,
      );
  };
  try {
    await rollups('after the migrations');
    const report = await syncTenantDatabase(client, { main: 'ddl_check', names: tenant, tables: FACT_TABLES });
    say(`  OK   sql-users sync for acme: copied ${report.copied.join(', ')}`);
    await insertFlights(client, 'after_sync', '2026-03-05 10:00:00');
    await rollups('after inserts');
    await tenantCopy('after the sync and inserts');
    await new TableRebuild(
      client,
      'samples_flights',
      'ENGINE = ReplacingMergeTree(_offset) PARTITION BY toYYYYMM(event_time) ORDER BY (tenant_id, event_time, id)',
      '9999_ddl_check',
    ).run();
    say('  OK   REBUILD TABLE samples_flights (same layout) after 0010 and the sync');
    await insertFlights(client, 'after_rebuild', '2026-03-06 10:00:00');
    await rollups('after a REBUILD TABLE samples_flights and inserts');
    const again = await syncTenantDatabase(client, { main: 'ddl_check', names: tenant, tables: FACT_TABLES });
    say(`  OK   sql-users sync again: copied [${again.copied.join(', ')}], kept [${again.kept.join(', ')}]`);
    await insertFlights(client, 'after_resync', '2026-03-07 10:00:00');
    await tenantCopy('after the REBUILD, a sync and inserts');
  } catch (error) {
    fail(`behaviour: ${(error as Error).message}\n       last statement: ${oneLine(log.at(-1) ?? '', 200)}`);
  }

  fs.rmSync(data, { recursive: true, force: true });
  say(
    `\nClickHouse ${version!.v}: ${checked} migration statements, ${ok} OK, ${checked - ok} errors; ${failures.length} failures in all; ${diffs.length} behaviour differences from 18.16`,
  );
  for (const f of failures) say(`  FAIL ${f}`);
  for (const d of diffs) say(`  DIFF ${d}`);
  // a difference is this engine's behaviour, which 24.8 may not share (sql/clickhouse/README.md)
  return failures.length > 0 || (STRICT && diffs.length > 0) ? 1 : 0;
}

/** A few rows of two tenants in the tables the rebuilds of 0008 and 0009 copy, over two months. */
async function seed(client: ClickHouseClient): Promise<void> {
  await insertFlights(client, 'seed_jan', '2026-01-10 08:00:00');
  await insertFlights(client, 'seed_feb', '2026-02-10 08:00:00');
  await client.command({
    query: `INSERT INTO finance_scores (id, tenant_id, company_id, period_end, kind, probability, category, event_time, _topic, _partition, _offset)
      VALUES ('s1', 'acme', 'c1', '2019-12-31', 'annual', 0.1, 'low', '2026-01-01 00:00:00', 't', 0, 1),
             ('s2', 'other', 'c1', '2020-12-31', 'annual', 0.7, 'high', '2026-01-01 00:00:00', 't', 0, 2)`,
  });
  await client.command({
    query: `INSERT INTO catalog_rows (id, tenant_id, upload_id, row_number, event_time, _topic, _partition, _offset)
      VALUES ('r1', 'acme', 'u1', 1, '2026-01-01 00:00:00', 't', 0, 1), ('r2', 'other', 'u2', 1, '2026-02-01 00:00:00', 't', 0, 2)`,
  });
}

let offset = 100;
async function insertFlights(client: ClickHouseClient, prefix: string, at: string): Promise<void> {
  const values = ['acme', 'other', 'acme'].map(
    (tenant, i) =>
      `('${prefix}_${i}', '${tenant}', toDateTime('${at}') + ${i * 3600}, 'AMS', 'LHR', 350, ${i * 7 - 3}, 'samples.flights', 0, ${offset++})`,
  );
  await client.command({
    query: `INSERT INTO samples_flights (id, tenant_id, event_time, origin, destination, distance, delay, _topic, _partition, _offset) VALUES ${values.join(', ')}`,
  });
}

process.exitCode = await main();
