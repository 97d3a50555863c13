/**
 * A tenant's database: a copy of each fact table holding only the tenant's rows, kept current by a
 * materialized view (`<table>__feed`) on the main table, which copies every insert's rows of that
 * tenant as the sink writes them.
 *
 * Why copies and not views: a user limited by allow_databases to its database cannot read a view
 * over the main tables on 18.16, because a view's query runs with the caller's rights ("Access
 * denied to database millrace"), and 18.16 has no row policies (users.xml's per-table filters came
 * in 19.x; 18.16 ignores them). A materialized view's target is an ordinary table in the tenant's
 * database, so the user reads it with its own rights and can reach nothing else.
 *
 * `_copies` records each copy's completion with the layout (engine, sorting key, columns) of the
 * main table it was copied from: a copy whose main table changed (a migration rebuilt it or added a
 * column) or whose copying never finished (a crash) is made again on the next sync.
 */
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { quoteName, SqlUserError, type SqlUserNames } from './names.ts';

const MARKERS = '_copies';
const FEED = '__feed';
const LINEAGE = ['_topic', '_partition', '_offset'];

interface Column {
  name: string;
  type: string;
  default_kind: string;
}

interface TableLayout {
  engineFull: string;
  /** The columns an INSERT takes (not MATERIALIZED or ALIAS), in table order. */
  columns: string[];
  layout: string;
}

export interface CopyReport {
  /** Tables copied afresh (new, changed, unfinished or asked for). */
  copied: string[];
  kept: string[];
  /** Copies of tables that are no longer fact tables, dropped. */
  removed: string[];
}

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

const list = (names: readonly string[]) => names.map(quoteString).join(', ');

/** The main tables among `tables` that exist, are MergeTrees and have a tenant_id column. */
async function mainLayouts(
  client: ClickHouseClient,
  main: string,
  tables: readonly string[],
): Promise<Map<string, TableLayout>> {
  if (tables.length === 0) return new Map();
  const found = await rows<{ name: string; engine: string; engine_full: string }>(
    client,
    `SELECT name, engine, engine_full FROM system.tables WHERE database = ${quoteString(main)} AND name IN (${list(tables)}) AND engine LIKE '%MergeTree'`,
  );
  const replicated = found.find((t) => t.engine.startsWith('Replicated'));
  // CREATE TABLE ... AS would give the copy the main table's ZooKeeper path: it would join its replicas
  if (replicated)
    throw new SqlUserError(
      `${main}.${replicated.name} is ${replicated.engine}: sql-users copies only unreplicated tables`,
    );
  const columns = await rows<Column & { table: string }>(
    client,
    `SELECT table, name, type, default_kind FROM system.columns WHERE database = ${quoteString(main)} AND table IN (${list(tables)})`,
  );
  const layouts = new Map<string, TableLayout>();
  for (const { name, engine_full } of found) {
    const own = columns.filter((c) => c.table === name);
    if (!own.some((c) => c.name === 'tenant_id')) continue;
    const insertable = own.filter((c) => c.default_kind !== 'MATERIALIZED' && c.default_kind !== 'ALIAS');
    const layout = createHash('sha256')
      .update(JSON.stringify({ engine_full, columns: own.map((c) => [c.name, c.type, c.default_kind]) }))
      .digest('hex');
    layouts.set(name, { engineFull: engine_full, columns: insertable.map((c) => c.name), layout });
  }
  return layouts;
}

/** A strictly increasing stamp, so the in-progress marker and the done marker of one copy never tie. */
let lastStamp = 0;
const stamp = () => (lastStamp = Math.max(Date.now(), lastStamp + 1));

async function copyTable(
  client: ClickHouseClient,
  main: string,
  names: SqlUserNames,
  table: string,
  { columns, layout }: TableLayout,
): Promise<void> {
  const db = quoteName(names.database);
  const source = `${quoteName(main)}.${quoteName(table)}`;
  const target = `${db}.${quoteName(table)}`;
  const feed = `${db}.${quoteName(table + FEED)}`;
  const cols = columns.map(quoteName).join(', ');
  const mine = `tenant_id = ${quoteString(names.tenant)}`;
  const mark = (value: string) =>
    client.command({
      query: `INSERT INTO ${db}.${MARKERS} (table, layout, at) VALUES (${quoteString(table)}, ${quoteString(value)}, ${stamp()})`,
    });
  await mark(''); // in progress: a crash from here on leaves the copy to be made again
  // the feed goes first and comes last: a feed without its target would fail every insert into the main table
  await client.command({ query: `DROP TABLE IF EXISTS ${feed}` });
  await client.command({ query: `DROP TABLE IF EXISTS ${target}` });
  await client.command({ query: `CREATE TABLE ${target} AS ${source}` });
  await client.command({
    query: `CREATE MATERIALIZED VIEW ${feed} TO ${target} AS SELECT ${cols} FROM ${source} WHERE ${mine}`,
  });
  // The rows written before the feed existed. Rows the feed has already copied are skipped by their
  // source offsets; only an insert caught between its main part and its feed part can be copied
  // twice, and the copy's ReplacingMergeTree (the main table's engine) folds it like any replay.
  const lineage = LINEAGE.every((c) => columns.includes(c))
    ? ` AND (${LINEAGE.join(', ')}) NOT IN (SELECT ${LINEAGE.join(', ')} FROM ${target})`
    : '';
  await client.command({
    query: `INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${source} WHERE ${mine}${lineage}`,
  });
  await mark(layout);
}

/**
 * Brings the tenant's database in line with the main database's fact tables `tables`: creates it,
 * copies each table not yet copied (or whose main table changed since, or `rebuild`), and drops
 * copies of tables no longer listed. Idempotent; `millrace provision` runs it for every SQL user.
 *
 * @example
 * await syncTenantDatabase(clickhouse, { main: 'millrace', names: sqlUserNames('millrace', 'acme'), tables: ['samples_flights'] });
 */
export async function syncTenantDatabase(
  client: ClickHouseClient,
  options: { main: string; names: SqlUserNames; tables: readonly string[]; rebuild?: boolean },
): Promise<CopyReport> {
  const { main, names } = options;
  const db = quoteName(names.database);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.${MARKERS} (table String, layout String, at UInt64) ENGINE = MergeTree() ORDER BY (table, at)`,
  });
  const layouts = await mainLayouts(client, main, options.tables);
  const present = await rows<{ name: string; engine: string }>(
    client,
    `SELECT name, engine FROM system.tables WHERE database = ${quoteString(names.database)}`,
  );
  const done = new Map(
    (
      await rows<{ table: string; layout: string }>(
        client,
        `SELECT table, argMax(layout, at) AS layout FROM ${db}.${MARKERS} GROUP BY table`,
      )
    ).map((m) => [m.table, m.layout]),
  );
  const has = new Set(present.map((t) => t.name));
  const report: CopyReport = { copied: [], kept: [], removed: [] };
  for (const [table, layout] of layouts) {
    const current = has.has(table) && has.has(table + FEED) && done.get(table) === layout.layout;
    if (current && !options.rebuild) {
      report.kept.push(table);
    } else {
      await copyTable(client, main, names, table, layout);
      report.copied.push(table);
    }
  }
  const wanted = new Set([MARKERS, ...[...layouts.keys()].flatMap((t) => [t, t + FEED])]);
  const stale = present.filter((t) => !wanted.has(t.name));
  // feeds before their targets, for the reason copyTable gives
  stale.sort((a, b) => Number(b.engine === 'MaterializedView') - Number(a.engine === 'MaterializedView'));
  for (const t of stale) {
    await client.command({ query: `DROP TABLE IF EXISTS ${db}.${quoteName(t.name)}` });
    if (t.engine !== 'MaterializedView') report.removed.push(t.name);
  }
  return report;
}

/** The copies the tenant's database holds (no feeds, no markers). */
export async function tenantTables(client: ClickHouseClient, names: SqlUserNames): Promise<string[]> {
  const found = await rows<{ name: string }>(
    client,
    `SELECT name FROM system.tables WHERE database = ${quoteString(names.database)} AND engine != 'MaterializedView' AND name != ${quoteString(MARKERS)} ORDER BY name`,
  );
  return found.map((t) => t.name);
}

/** Drops the tenant's database, its feeds first. */
export async function dropTenantDatabase(client: ClickHouseClient, names: SqlUserNames): Promise<void> {
  const feeds = await rows<{ name: string }>(
    client,
    `SELECT name FROM system.tables WHERE database = ${quoteString(names.database)} AND engine = 'MaterializedView'`,
  );
  const db = quoteName(names.database);
  for (const { name } of feeds) await client.command({ query: `DROP TABLE IF EXISTS ${db}.${quoteName(name)}` });
  await client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
}
