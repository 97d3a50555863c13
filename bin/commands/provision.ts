import { loadCatalogue } from '../../core/catalogue.ts';
import { createLogger } from '../../core/logger.ts';
import { provisionAll } from '../../core/provision.ts';
import { refreshAfterProvision } from './sql-users.ts';

export async function run(): Promise<number> {
  const report = await provisionAll(loadCatalogue());
  // after the migrations: a table they added or rebuilt reaches the SQL users' databases now
  const sqlUsers = await refreshAfterProvision();
  createLogger('provision').info({ ...report, sqlUsers }, 'provisioned');
  process.stdout.write(
    `topics created: ${report.topics.created.length}, grown: ${report.topics.grown.length}, reconfigured: ${report.topics.reconfigured.length}\n` +
      `schemas: ${Object.entries(report.schemas)
        .map(([s, id]) => `${s}#${id}`)
        .join(', ')}\n` +
      `migrations applied: postgres ${report.migrations.postgres.length}, clickhouse ${report.migrations.clickhouse.length}\n` +
      `sql users refreshed: ${sqlUsers.length} (copied ${sqlUsers.reduce((n, u) => n + u.copied.length, 0)} tables)\n`,
  );
  return 0;
}
