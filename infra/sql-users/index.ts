/**
 * Read-only ClickHouse users for a tenant's analysts (`millrace sql-users`): each sees one
 * database holding copies of the fact tables with only its tenant's rows (tenant-database.ts),
 * under limits on time, memory and result size (users-file.ts). For the ClickHouse `millrace infra`
 * runs (18.16); on 24.x row policies do the same without copies (README, "SQL for analysts").
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { ClickHouseClient } from '@clickhouse/client';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { SqlUserError, sqlUserNames, type SqlUserNames } from './names.ts';
import { dropTenantDatabase, syncTenantDatabase, tenantTables, type CopyReport } from './tenant-database.ts';
import {
  DEFAULT_LIMITS,
  listUsersFiles,
  readUsersFile,
  removeUsersFile,
  sha256Hex,
  writeUsersFile,
  type SqlUserLimits,
} from './users-file.ts';

export { SqlUserError, sqlUserNames, DEFAULT_LIMITS, type CopyReport, type SqlUserLimits, type SqlUserNames };

/** Where the users connect, and the main database whose fact tables they see. */
export interface SqlUserServer {
  client: ClickHouseClient;
  /** The HTTP interface, e.g. http://127.0.0.1:8123 (CLICKHOUSE_URL). */
  url: string;
  main: string;
}

export interface CreatedSqlUser extends SqlUserNames {
  password: string;
  limits: SqlUserLimits;
  copies: CopyReport;
}

/** How long the server may take to notice a users.d change (18.16 looks every few seconds). */
const RELOAD_TIMEOUT_MS = 30_000;

async function answers(url: string, user: string, password: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'x-clickhouse-user': user, 'x-clickhouse-key': password },
      body: 'SELECT 1',
      signal: AbortSignal.timeout(2000),
    });
    await res.text();
    return res.ok;
  } catch {
    return false;
  }
}

/** Waits until the server lets `user` in with `password`; false if it never does. */
async function waitForLogin(url: string, user: string, password: string): Promise<boolean> {
  const deadline = Date.now() + RELOAD_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await answers(url, user, password)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/**
 * Creates the tenant's user and database, or, for a tenant that has one, refreshes its database
 * and issues a new password (limits given replace the user's; the others stay). The password is
 * returned once and stored only as its sha256.
 *
 * @example
 * const user = await createSqlUser(server, { tenant: 'acme', tables: ['samples_flights'], limits: { maxExecutionTime: 30 } });
 */
export async function createSqlUser(
  server: SqlUserServer,
  options: { tenant: string; tables: readonly string[]; limits?: Partial<SqlUserLimits> },
): Promise<CreatedSqlUser> {
  const names = sqlUserNames(server.main, options.tenant);
  const previous = readUsersFile(names);
  const given = Object.fromEntries(Object.entries(options.limits ?? {}).filter(([, v]) => v !== undefined));
  const limits: SqlUserLimits = { ...DEFAULT_LIMITS, ...previous?.limits, ...given };
  const copies = await syncTenantDatabase(server.client, { main: server.main, names, tables: options.tables });
  const before = previous && fs.readFileSync(previous.file, 'utf8');
  const password = randomBytes(16).toString('hex');
  const file = writeUsersFile(names, limits, sha256Hex(password));
  if (!(await waitForLogin(server.url, names.user, password))) {
    if (before === undefined) fs.rmSync(file);
    else fs.writeFileSync(file, before, { mode: 0o600 });
    throw new SqlUserError(
      `the ClickHouse at ${server.url} did not take ${file} within ${RELOAD_TIMEOUT_MS / 1000} s: sql-users manages ` +
        "users of the ClickHouse `millrace infra` runs; for another server (docker compose's 24.x) use row policies, see README 'SQL for analysts'",
    );
  }
  return { ...names, password, limits, copies };
}

/** Removes the tenant's user and its database; false if it had neither. */
export async function dropSqlUser(server: SqlUserServer, tenant: string): Promise<boolean> {
  const names = sqlUserNames(server.main, tenant);
  const had = removeUsersFile(names);
  const database = await server.client.query({
    query: `SELECT count() AS n FROM system.databases WHERE name = ${quoteString(names.database)}`,
    format: 'JSONEachRow',
  });
  const exists = Number((await database.json<{ n: string }>())[0]?.n) > 0;
  await dropTenantDatabase(server.client, names);
  return had || exists;
}

export interface ListedSqlUser extends SqlUserNames {
  limits: SqlUserLimits;
  tables: string[];
}

export async function listSqlUsers(server: SqlUserServer): Promise<ListedSqlUser[]> {
  return Promise.all(
    listUsersFiles(server.main).map(async ({ tenant, user, database, limits }) => ({
      tenant,
      user,
      database,
      limits,
      tables: await tenantTables(server.client, { tenant, user, database }),
    })),
  );
}

/**
 * Brings every SQL user's database in line with the fact tables (new tables, tables a migration
 * rebuilt); `rebuild` copies all of them again. `millrace provision` runs it after the migrations.
 */
export async function refreshSqlUsers(
  server: SqlUserServer,
  options: { tables: readonly string[]; rebuild?: boolean },
): Promise<(SqlUserNames & CopyReport)[]> {
  const reports: (SqlUserNames & CopyReport)[] = [];
  for (const { tenant, user, database } of listUsersFiles(server.main)) {
    const names = { tenant, user, database };
    reports.push({ ...names, ...(await syncTenantDatabase(server.client, { main: server.main, names, ...options })) });
  }
  return reports;
}
