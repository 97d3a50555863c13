/**
 * `millrace sql-users` against the real ClickHouse: two tenants' flights in one table; each
 * tenant's SQL user, connecting with the line `create` prints (clickhouse-client) or over HTTP, sees
 * its own rows only, cannot read the main tables or the other tenant's database, cannot write,
 * and is stopped past its limits. It runs on a database of its own so the copies' feeds never sit
 * on the shared tables.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createTenant } from '../../api/auth/accounts.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { loadConfig } from '../../core/config.ts';
import { ensureClickHouseDatabase, migrateClickHouse } from '../../core/migrations.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { namesOfUser, sqlUserNames } from '../../infra/sql-users/names.ts';
import { dropTenantDatabase, syncTenantDatabase } from '../../infra/sql-users/tenant-database.ts';
import { listUsersFiles, removeUsersFile } from '../../infra/sql-users/users-file.ts';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = 'millrace_sql_users_test';
const suffix = Date.now().toString(36);
const A = `sqlu-a-${suffix}`;
const B = `sqlu-b-${suffix}`;
const url = loadConfig().CLICKHOUSE_URL;

const millrace = (args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'bin', 'millrace.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, CLICKHOUSE_DATABASE: MAIN },
    timeout: 120_000,
  });

const admin = createClickHouse('default');

async function scalar(query: string): Promise<string> {
  const [row] = await (await admin.query({ query, format: 'JSONEachRow' })).json<{ v: unknown }>();
  return String(row?.v);
}

let offset = 0;
/** `n` flights of `tenant` as the sink writes them (lineage columns included). */
async function flights(tenant: string, n: number): Promise<void> {
  const values = Array.from({ length: n }, () => {
    offset += 1;
    return `(${quoteString(`${tenant}-${offset}`)}, ${quoteString(tenant)}, now(), 'ORD', 'JFK', 740, 12, 'samples.flights.raw', 0, ${offset})`;
  });
  await admin.command({ query: `INSERT INTO ${MAIN}.samples_flights VALUES ${values.join(', ')}` });
}

/** Leftovers of an earlier run that stopped half-way: its users, their databases, the main database. */
async function cleanUp(): Promise<void> {
  for (const names of listUsersFiles(MAIN)) removeUsersFile(names);
  const databases = await (
    await admin.query({
      query: `SELECT name FROM system.databases WHERE startsWith(name, ${quoteString(`${MAIN}_tenant_`)})`,
      format: 'JSONEachRow',
    })
  ).json<{ name: string }>();
  for (const { name } of databases) {
    const names = namesOfUser(MAIN, name);
    if (names) await dropTenantDatabase(admin, names);
  }
  await admin.command({ query: `DROP DATABASE IF EXISTS ${MAIN}` });
}

interface Login {
  args: string[];
  user: string;
  password: string;
  database: string;
}

/** Creates the tenant's SQL user; what the printed clickhouse-client line says. */
function create(tenant: string, ...flags: string[]): Login {
  const run = millrace(['sql-users', 'create', '--tenant', tenant, ...flags]);
  assert.equal(run.status, 0, run.stderr);
  const line = run.stdout.trim().split('\n').at(-1)!;
  assert.match(line, /^clickhouse-client --host \S+ --port \d+ --user \S+ --password \S+ --database \S+$/);
  const args = line.split(' ').slice(1);
  const flag = (name: string) => args[args.indexOf(name) + 1]!;
  return { args, user: flag('--user'), password: flag('--password'), database: flag('--database') };
}

/** A query through clickhouse-client as the user: its output, or the server's error. */
function client(login: Login, query: string): { out: string; error: string; status: number | null } {
  const run = spawnSync('clickhouse-client', [...login.args, '--query', query], { encoding: 'utf8', timeout: 60_000 });
  return { out: run.stdout.trim(), error: run.stderr.trim(), status: run.status };
}

/** A query over the HTTP interface as the user (basic auth, its database in the URL unless told otherwise). */
async function http(login: Login, query: string, database = login.database): Promise<{ status: number; body: string }> {
  const res = await fetch(database ? `${url}/?database=${encodeURIComponent(database)}` : url, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${login.user}:${login.password}`).toString('base64')}` },
    body: query,
  });
  return { status: res.status, body: (await res.text()).trim() };
}

describe('millrace sql-users', () => {
  let a: Login;
  let b: Login;
  const pool = createPostgresPool(1);

  before(async () => {
    await cleanUp();
    await ensureClickHouseDatabase(admin, MAIN);
    const main = createClickHouse(MAIN);
    await migrateClickHouse(main).finally(() => main.close());
    await createTenant(pool, A);
    await createTenant(pool, B);
    await flights(A, 50);
    await flights(B, 30);
    a = create(A, '--max-execution-time', '2', '--max-result-rows', '1000', '--max-memory-usage', '100000000');
    b = create(B);
    // written after the users were made: the feeds copy them
    await flights(A, 10);
    await flights(B, 5);
  });

  after(async () => {
    await cleanUp();
    await pool.query('DELETE FROM tenants WHERE id = ANY($1)', [[A, B]]);
    await pool.end();
    await admin.close();
  });

  it('an unknown tenant gets no user', () => {
    const run = millrace(['sql-users', 'create', '--tenant', `sqlu-nobody-${suffix}`]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /no tenant "sqlu-nobody-/);
  });

  it("each user sees its own tenant's rows, those written before and after it was made, and no other's", async () => {
    const count = `SELECT tenant_id, count() FROM samples_flights FINAL GROUP BY tenant_id`;
    assert.deepEqual(client(a, count), { out: `${A}\t60`, error: '', status: 0 });
    assert.deepEqual(client(b, count), { out: `${B}\t35`, error: '', status: 0 });
    assert.deepEqual(await http(a, `SELECT count() FROM samples_flights WHERE tenant_id = ${quoteString(B)}`), {
      status: 200,
      body: '0',
    });
    assert.deepEqual(await http(b, 'SELECT DISTINCT tenant_id FROM samples_flights'), { status: 200, body: B });
    // the other tables are there too, and empty of other tenants' rows alike
    assert.equal(client(a, 'SELECT count() FROM finance_scores').out, '0');
  });

  it('the main tables, the other tenant’s database and table functions are refused', async () => {
    const denied = client(a, `SELECT count() FROM ${MAIN}.samples_flights`);
    assert.notEqual(denied.status, 0);
    assert.match(denied.error, new RegExp(`Code: 291.*Access denied to database ${MAIN}`));
    assert.match(client(a, `SELECT count() FROM \`${b.database}\`.samples_flights`).error, /Code: 291/);
    const overHttp = await http(a, `SELECT count() FROM ${MAIN}.samples_flights`);
    assert.notEqual(overHttp.status, 200);
    assert.match(overHttp.body, /Access denied/);
    for (const query of [
      `SELECT count() FROM remote('127.0.0.1', ${MAIN}.samples_flights)`,
      `SELECT count() FROM merge('${MAIN}', '^samples')`,
    ]) {
      assert.match(client(a, query).error, /Code: 164.*Table functions are forbidden in readonly mode/, query);
    }
  });

  it('writes, DDL and lifting a limit are refused', () => {
    for (const query of [
      `INSERT INTO samples_flights SELECT * FROM samples_flights`,
      `CREATE TABLE mine (x UInt8) ENGINE = Memory`,
      `DROP TABLE samples_flights`,
      `ALTER TABLE samples_flights DELETE WHERE 1`,
      `SET max_execution_time = 0`,
    ]) {
      const run = client(a, query);
      assert.notEqual(run.status, 0, query);
      assert.match(run.error, /Code: 164.*readonly mode/, query);
    }
    assert.equal(client(a, 'SELECT count() FROM samples_flights').out, '60');
  });

  it('a query past a limit is stopped: time, result rows, memory', () => {
    const started = Date.now();
    const slow = client(a, 'SELECT count() FROM system.numbers');
    assert.match(slow.error, /Code: 159.*Timeout exceeded: elapsed [\d.]+ seconds, maximum: 2/);
    assert.ok(Date.now() - started < 20_000);
    assert.match(
      client(a, 'SELECT number FROM system.numbers LIMIT 5000').error,
      /Code: 396.*Limit for result exceeded, max rows: 1.00 thousand/,
    );
    assert.match(
      client(a, 'SELECT groupArray(number) FROM (SELECT number FROM system.numbers LIMIT 50000000)').error,
      /Code: 241.*Memory limit \(for query\) exceeded/,
    );
    // the other user has the default limits
    assert.equal(client(b, 'SELECT count() FROM (SELECT number FROM system.numbers LIMIT 5000)').out, '5000');
  });

  it('list shows the users with their limits and tables', () => {
    const run = millrace(['sql-users', 'list']);
    assert.equal(run.status, 0, run.stderr);
    const rows = run.stdout.trim().split('\n').slice(1);
    assert.deepEqual(
      rows.map((r) => r.split('\t').slice(0, 6)),
      [
        [A, a.user, a.database, '2', '100000000', '1000'],
        [B, b.user, b.database, '60', '2000000000', '1000000'],
      ],
    );
    assert.match(rows[0]!, /\tcatalog_rows,.*samples_flights$/);
  });

  it('a main table rebuilt by a migration keeps feeding the copy, and refresh copies it again in its new layout', async () => {
    // what a rebuild migration does (sql/README.md): copy, swap by name, drop the old table
    for (const query of [
      `CREATE TABLE ${MAIN}.samples_flights_next AS ${MAIN}.samples_flights ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, event_time, id)`,
      `INSERT INTO ${MAIN}.samples_flights_next SELECT * FROM ${MAIN}.samples_flights`,
      `RENAME TABLE ${MAIN}.samples_flights TO ${MAIN}.samples_flights_old, ${MAIN}.samples_flights_next TO ${MAIN}.samples_flights`,
      `DROP TABLE ${MAIN}.samples_flights_old`,
    ]) {
      await admin.command({ query });
    }
    await flights(A, 4);
    assert.equal(client(a, 'SELECT count() FROM samples_flights FINAL').out, '64');

    const run = millrace(['sql-users', 'refresh']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^${A}: copied: samples_flights; kept: catalog_rows, .*; removed: -$`, 'm'));
    const engine = `SELECT engine_full AS v FROM system.tables WHERE database = ${quoteString(a.database)} AND name = 'samples_flights'`;
    assert.match(await scalar(engine), /ORDER BY \(tenant_id, event_time, id\)/);
    await flights(A, 1);
    assert.equal(client(a, 'SELECT count() FROM samples_flights FINAL').out, '65');
    assert.match(millrace(['sql-users', 'refresh']).stdout, new RegExp(`^${A}: copied: -; kept: `, 'm'));
  });

  it('a new fact table is copied in, a copy whose copying never finished is made again, a table no longer listed is dropped', async () => {
    const names = sqlUserNames(MAIN, A);
    await admin.command({
      query: `CREATE TABLE ${MAIN}.extra_facts (id String, tenant_id String, _topic String, _partition UInt32, _offset UInt64) ENGINE = MergeTree() ORDER BY (tenant_id, id)`,
    });
    await admin.command({
      query: `INSERT INTO ${MAIN}.extra_facts VALUES ('x1', ${quoteString(A)}, 't', 0, 1), ('x2', ${quoteString(B)}, 't', 0, 2)`,
    });
    const tables = ['samples_flights', 'extra_facts'];
    assert.deepEqual(await syncTenantDatabase(admin, { main: MAIN, names, tables }), {
      copied: ['extra_facts'],
      kept: ['samples_flights'],
      removed: [
        'catalog_rows',
        'finance_scores',
        'market_indicators',
        'market_quotes',
        'model_scores',
        'model_shadow_scores',
      ],
    });
    assert.equal(client(a, 'SELECT groupArray(id) FROM extra_facts').out, "['x1']");

    // a copy interrupted after its in-progress mark: the next sync makes it again, once
    await admin.command({
      query: `INSERT INTO \`${names.database}\`._copies VALUES ('samples_flights', '', ${Date.now() - 1})`,
    });
    assert.deepEqual((await syncTenantDatabase(admin, { main: MAIN, names, tables })).copied, ['samples_flights']);
    assert.equal(client(a, 'SELECT count() FROM samples_flights FINAL').out, '65');
    assert.deepEqual((await syncTenantDatabase(admin, { main: MAIN, names, tables })).copied, []);

    assert.deepEqual((await syncTenantDatabase(admin, { main: MAIN, names, tables: ['samples_flights'] })).removed, [
      'extra_facts',
    ]);
    // no feed is left behind on the main table: inserting into it still works
    await admin.command({ query: `INSERT INTO ${MAIN}.extra_facts VALUES ('x3', ${quoteString(A)}, 't', 0, 3)` });
  });

  it('drop removes the user and its database; the main table takes inserts as before', async () => {
    assert.equal((await http(b, 'SELECT 1', '')).status, 200);
    const run = millrace(['sql-users', 'drop', '--tenant', B]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(
      await scalar(`SELECT count() AS v FROM system.databases WHERE name = ${quoteString(b.database)}`),
      '0',
    );
    let status = 200;
    for (let i = 0; i < 120 && status === 200; i++) {
      status = (await http(b, 'SELECT 1', '')).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 250));
    }
    assert.notEqual(status, 200, 'the dropped user still logs in');
    await flights(B, 1);
    assert.equal(millrace(['sql-users', 'drop', '--tenant', B]).status, 1);
  });
});
