/**
 * `millrace sql-users`: read-only ClickHouse users for a tenant's analysts (infra/sql-users).
 *   create --tenant T [--max-execution-time S] [--max-memory-usage BYTES] [--max-result-rows N] [--max-result-bytes BYTES]
 *     prints the clickhouse-client line that connects (the password is shown only then);
 *     again for the same tenant: a new password, the limits given changed, the copies refreshed
 *   list | drop --tenant T | refresh [--rebuild]
 * The fact tables a user sees are the ones the ClickHouse sinks write, so a new sink's table
 * reaches every SQL user at the next `millrace provision`.
 */
import { parseArgs } from 'node:util';
import { createPostgresPool } from '../../core/postgres.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { hostAndPort, loadConfig } from '../../core/config.ts';
import { tenantExists } from '../../api/auth/accounts.ts';
import { sinks } from '../../connectors/sinks/index.ts';
import {
  createSqlUser,
  dropSqlUser,
  listSqlUsers,
  refreshSqlUsers,
  type CopyReport,
  type SqlUserServer,
} from '../../infra/sql-users/index.ts';
import { flags, positiveOption } from './options.ts';

const USAGE =
  'usage: millrace sql-users create --tenant <name> [--max-execution-time <s>] [--max-memory-usage <bytes>] ' +
  '[--max-result-rows <n>] [--max-result-bytes <bytes>] | sql-users list | sql-users drop --tenant <name> | sql-users refresh [--rebuild]';

/** The tables the ClickHouse sinks write: every fact table a tenant has rows in. */
export const factTables = (): string[] => [
  ...new Set(
    Object.values(sinks)
      .filter((s) => s.target === 'clickhouse')
      .map((s) => s.table),
  ),
];

async function withServer<T>(use: (server: SqlUserServer) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const client = createClickHouse('default');
  try {
    return await use({ client, url: config.CLICKHOUSE_URL, main: config.CLICKHOUSE_DATABASE });
  } finally {
    await client.close();
  }
}

/** Refreshes every SQL user's database after provisioning; nothing to do (no ClickHouse query) without users. */
export const refreshAfterProvision = (): Promise<(CopyReport & { tenant: string })[]> =>
  withServer((server) => refreshSqlUsers(server, { tables: factTables() }));

const summary = (copies: CopyReport) =>
  `copied: ${copies.copied.join(', ') || '-'}; kept: ${copies.kept.join(', ') || '-'}; removed: ${copies.removed.join(', ') || '-'}`;

async function assertTenant(tenant: string): Promise<void> {
  const db = createPostgresPool(1);
  try {
    if (!(await tenantExists(db, tenant)))
      throw new Error(`no tenant "${tenant}" (npx millrace tenants create ${tenant})`);
  } finally {
    await db.end();
  }
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...flags('string', 'tenant', 'max-execution-time', 'max-memory-usage', 'max-result-rows', 'max-result-bytes'),
      ...flags('boolean', 'rebuild'),
    },
  });
  const [action] = positionals;
  const needsTenant = action === 'create' || action === 'drop';
  if (!['create', 'list', 'drop', 'refresh'].includes(action ?? '') || (needsTenant && !values.tenant)) {
    throw new Error(USAGE);
  }
  const tenant = values.tenant!;

  if (action === 'create') {
    const limits = {
      maxExecutionTime: positiveOption('max-execution-time', values['max-execution-time']),
      maxMemoryUsage: positiveOption('max-memory-usage', values['max-memory-usage']),
      maxResultRows: positiveOption('max-result-rows', values['max-result-rows']),
      maxResultBytes: positiveOption('max-result-bytes', values['max-result-bytes']),
    };
    await assertTenant(tenant);
    const user = await withServer((server) => createSqlUser(server, { tenant, tables: factTables(), limits }));
    const { host } = hostAndPort(loadConfig().CLICKHOUSE_URL);
    const l = user.limits;
    process.stdout.write(
      `sql user ${user.user} for tenant ${tenant}: read-only, database ${user.database} (${summary(user.copies)})\n` +
        `limits: ${l.maxExecutionTime} s, ${l.maxMemoryUsage} bytes of memory, ${l.maxResultRows} result rows, ` +
        `${l.maxResultBytes} result bytes, ${l.maxConcurrentQueries} queries at once\n` +
        `clickhouse-client --host ${host} --port ${loadConfig().CLICKHOUSE_TCP_PORT} --user ${user.user} --password ${user.password} --database ${user.database}\n`,
    );
    return 0;
  }
  if (action === 'drop') {
    if (!(await withServer((server) => dropSqlUser(server, tenant))))
      throw new Error(`tenant "${tenant}" has no sql user`);
    return 0;
  }
  if (action === 'refresh') {
    const reports = await withServer((server) =>
      refreshSqlUsers(server, { tables: factTables(), rebuild: values.rebuild }),
    );
    for (const r of reports) process.stdout.write(`${r.tenant}: ${summary(r)}\n`);
    return 0;
  }
  const users = await withServer(listSqlUsers);
  process.stdout.write(
    ['TENANT\tUSER\tDATABASE\tMAX_EXECUTION_TIME\tMAX_MEMORY_USAGE\tMAX_RESULT_ROWS\tMAX_RESULT_BYTES\tTABLES']
      .concat(
        users.map((u) =>
          [
            u.tenant,
            u.user,
            u.database,
            u.limits.maxExecutionTime,
            u.limits.maxMemoryUsage,
            u.limits.maxResultRows,
            u.limits.maxResultBytes,
            u.tables.join(',') || '-',
          ].join('\t'),
        ),
      )
      .join('\n') + '\n',
  );
  return 0;
}

/** Drops the tenant's SQL user and database, if it has them (erasing a tenant). */
export const dropTenantSqlUser = (tenant: string): Promise<boolean> =>
  withServer((server) => dropSqlUser(server, tenant));
