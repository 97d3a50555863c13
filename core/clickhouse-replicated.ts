/**
 * The replicated variant of the ClickHouse DDL (CLICKHOUSE_REPLICAS): the migrations are written
 * for one server, and on a shard of replicas every `*MergeTree` engine becomes its `Replicated*`
 * twin, coordinated through ZooKeeper. Each server names its shard and replica in its `macros`
 * (infra/services/clickhouse.ts writes them for the local cluster).
 *
 * A table's ZooKeeper path holds the migration that created it: a REBUILD TABLE creates
 * `<table>__next` and renames it to `<table>`, and its replicas must not join the path of the table
 * it replaces (nor that of an older layout dropped since).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { quoteString } from './clickhouse-sql.ts';

const ENGINE =
  /ENGINE\s*=\s*((?:Replacing|Aggregating|Summing|Collapsing|VersionedCollapsing)?MergeTree)\s*\(([^)]*)\)/i;
const CREATE_TABLE = /^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s/i;

/** Where the replicas of `table` as `migration` created it meet in ZooKeeper. */
export function zookeeperPath(database: string, table: string, migration: string): string {
  return `/clickhouse/tables/{shard}/${database}/${table}/${migration.replace(/\.sql$/, '')}`;
}

/**
 * `layout` (an `ENGINE = ...` clause, or a statement holding one) with its MergeTree engine made
 * replicated; unchanged when it names no MergeTree engine (a view, a Log table).
 *
 * @example
 * replicatedEngine('ENGINE = ReplacingMergeTree(_offset) ORDER BY id', zookeeperPath('millrace', 't', '0002_t.sql'))
 * // "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/millrace/t/0002_t', '{replica}', _offset) ORDER BY id"
 */
export function replicatedEngine(layout: string, path: string): string {
  return layout.replace(ENGINE, (_all, engine: string, args: string) => {
    const rest = args.trim() === '' ? '' : `, ${args.trim()}`;
    return `ENGINE = Replicated${engine}(${quoteString(path)}, '{replica}'${rest})`;
  });
}

/** A migration statement in its replicated form: CREATE TABLE gets a replicated engine, anything else is unchanged. */
export function replicatedStatement(statement: string, database: string, migration: string): string {
  const table = CREATE_TABLE.exec(statement.trim())?.[1];
  return table ? replicatedEngine(statement, zookeeperPath(database, table, migration)) : statement;
}

/**
 * What a replica other than the first does with a migration statement. Rows reach it through
 * replication, so inserts and truncations are the first replica's alone (run again here they would
 * be replicated back, twice); ALTER of a replicated table is replicated too. Tables, views and
 * renames are each server's own; a check (SELECT) runs once this replica caught up.
 */
export function followerAction(statement: string): 'run' | 'skip' | 'check' {
  const verb = /^\s*(\w+)/.exec(statement)?.[1]?.toUpperCase();
  if (verb === 'INSERT' || verb === 'TRUNCATE' || verb === 'ALTER') return 'skip';
  if (verb === 'SELECT' || verb === 'WITH') return 'check';
  return 'run';
}

/** The replicated tables of `client`'s database. */
export async function replicatedTables(client: ClickHouseClient): Promise<string[]> {
  const rows = await (
    await client.query({
      query: `SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE 'Replicated%'`,
      format: 'JSONEachRow',
    })
  ).json<{ name: string }>();
  return rows.map((r) => r.name);
}

/**
 * Waits until this replica holds every part the shard's replication log names for each of `tables`
 * (all replicated tables of its database by default), within `timeoutS` a table (SYSTEM SYNC REPLICA).
 */
export async function syncReplicas(client: ClickHouseClient, timeoutS = 60, tables?: readonly string[]): Promise<void> {
  for (const name of tables ?? (await replicatedTables(client)))
    await client.command({ query: `SYSTEM SYNC REPLICA ${name}`, clickhouse_settings: { receive_timeout: timeoutS } });
}
