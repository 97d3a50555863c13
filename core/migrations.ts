/**
 * Numbered SQL migrations in sql/postgres and sql/clickhouse, applied in name order, each once.
 * Applied migrations are recorded with their sha256; editing one after it ran is an error (add a
 * new file instead). Postgres runs each file in a transaction under an advisory lock; ClickHouse
 * has no transactions, so its statements must be idempotent (IF NOT EXISTS) and a file is
 * recorded only after all of its statements succeeded; `REBUILD TABLE` (clickhouse-rebuild.ts) is
 * the step that changes a table's layout.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import pg from 'pg';
import { loadConfig } from './config.ts';
import { quoteString, sqlIdentifier } from './clickhouse-sql.ts';
import { parseRebuild, TableRebuild } from './clickhouse-rebuild.ts';
import {
  followerAction,
  replicatedEngine,
  replicatedStatement,
  syncReplicas,
  zookeeperPath,
} from './clickhouse-replicated.ts';
import { errorKind } from './errors.ts';
import { inClientTransaction } from './postgres.ts';

export interface Migration {
  name: string;
  sql: string;
  sha256: string;
}

export class MigrationError extends errorKind('MigrationError', { code: 'migration_failed' }) {}

const MIGRATION_FILE = /^\d{4}_[a-z0-9_]+\.sql$/;
const TABLE = 'millrace_schema_migrations';

export function readMigrations(dir: string): Migration[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => {
      if (!MIGRATION_FILE.test(name))
        throw new MigrationError(`${dir}/${name}: name must look like 0001_what_it_does.sql`);
      const sql = readFileSync(path.join(dir, name), 'utf8');
      return { name, sql, sha256: createHash('sha256').update(sql).digest('hex') };
    });
}

/** Splits a ClickHouse file into statements: ClickHouse's HTTP interface takes one at a time. */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function checkUnchanged(applied: Map<string, string>, migration: Migration, where: string): boolean {
  const sha = applied.get(migration.name);
  if (sha === undefined) return false;
  if (sha !== migration.sha256) {
    throw new MigrationError(
      `${where} migration ${migration.name} was edited after it was applied; add a new migration instead`,
    );
  }
  return true;
}

/**
 * Applies sql/postgres in order under an advisory lock; returns the names it applied (none when up to date).
 *
 * @example
 * const applied = await migratePostgres();
 */
export async function migratePostgres(url = loadConfig().POSTGRES_URL, dir = sqlDir('postgres')): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [TABLE]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (name text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ name: string; sha256: string }>(`SELECT name, sha256 FROM ${TABLE}`);
    const applied = new Map(rows.map((r) => [r.name, r.sha256]));
    const done: string[] = [];
    for (const migration of readMigrations(dir)) {
      if (checkUnchanged(applied, migration, 'postgres')) continue;
      await inClientTransaction(client, async () => {
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${TABLE} (name, sha256) VALUES ($1, $2)`, [migration.name, migration.sha256]);
      }).catch((error: Error) => {
        throw new MigrationError(`postgres migration ${migration.name} failed: ${error.message}`, { cause: error });
      });
      done.push(migration.name);
    }
    return done;
  } finally {
    await client.end();
  }
}

/** Creates the database if needed; `client` must be one whose default database is another. */
export async function ensureClickHouseDatabase(
  client: ClickHouseClient,
  database = loadConfig().CLICKHOUSE_DATABASE,
): Promise<void> {
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${sqlIdentifier(database, [database])}` });
}

/** The replicated variant (CLICKHOUSE_REPLICAS; core/clickhouse-replicated.ts). */
export interface ReplicatedMigrations {
  /** the database's name, part of each table's ZooKeeper path (the same on every replica) */
  database: string;
  /** the shard's other replicas: each statement runs there right after the first replica */
  followers: readonly ClickHouseClient[];
}

/**
 * Applies sql/clickhouse with `client`'s default database as the target (see sql/README.md). With
 * `replicated`, tables are created replicated and every statement is applied on each replica in
 * step (followerAction says what the others do); each replica records what it applied.
 *
 * @example
 * const clickhouse = createClickHouse();
 * const applied = await migrateClickHouse(clickhouse);
 */
export async function migrateClickHouse(
  client: ClickHouseClient,
  dir = sqlDir('clickhouse'),
  replicated?: ReplicatedMigrations,
): Promise<string[]> {
  const followers = replicated?.followers ?? [];
  const [applied, ...followersApplied] = await Promise.all([client, ...followers].map(appliedMigrations));
  followersApplied.forEach((theirs, i) => {
    const missing = [...applied!.keys()].filter((name) => !theirs.has(name));
    if (missing.length > 0)
      throw new MigrationError(
        `clickhouse replica ${i + 2} lacks ${missing.join(', ')}, which the first replica applied: a new replica must start from a copy of the others`,
      );
  });
  const done: string[] = [];
  for (const migration of readMigrations(dir)) {
    if (checkUnchanged(applied!, migration, 'clickhouse')) continue;
    for (const written of splitStatements(migration.sql)) {
      const statement = replicated ? replicatedStatement(written, replicated.database, migration.name) : written;
      const rebuild = parseRebuild(statement);
      try {
        if (rebuild) {
          const layout = replicated
            ? replicatedEngine(rebuild.layout, zookeeperPath(replicated.database, rebuild.table, migration.name))
            : rebuild.layout;
          await new TableRebuild(client, rebuild.table, layout, migration.name, undefined, { followers }).run();
          continue;
        }
        // a backfill run again after a crash repeats blocks a replicated table would take for duplicates
        await client.command({ query: statement, clickhouse_settings: { insert_deduplicate: 0 } });
        const action = followerAction(statement);
        for (const follower of action === 'skip' ? [] : followers) {
          if (action === 'check') await syncReplicas(follower);
          await follower.command({ query: statement });
        }
      } catch (error) {
        throw new MigrationError(
          `clickhouse migration ${migration.name} failed at "${written.slice(0, 80)}": ${(error as Error).message}`,
        );
      }
    }
    // the first replica records last: a crash before it has every replica apply the file again
    for (const [i, target] of [...followers, client].entries()) {
      if (i < followers.length && followersApplied[i]!.has(migration.name)) continue;
      await target.command({
        query: `INSERT INTO ${TABLE} (name, sha256) VALUES (${quoteString(migration.name)}, ${quoteString(migration.sha256)})`,
      });
    }
    done.push(migration.name);
  }
  return done;
}

/** The migrations `client`'s database records as applied (the record table is each server's own). */
async function appliedMigrations(client: ClickHouseClient): Promise<Map<string, string>> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${TABLE} (name String, sha256 String, applied_at DateTime DEFAULT now()) ENGINE = MergeTree() ORDER BY name`,
  });
  const result = await client.query({ query: `SELECT name, sha256 FROM ${TABLE}`, format: 'JSONEachRow' });
  return new Map((await result.json<{ name: string; sha256: string }>()).map((r) => [r.name, r.sha256]));
}

function sqlDir(kind: 'postgres' | 'clickhouse'): string {
  return path.join(loadConfig().repoRoot, 'sql', kind);
}
