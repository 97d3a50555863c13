import { loadCatalogue } from '../../core/catalogue.ts';
import { createLogger } from '../../core/logger.ts';
import { provisionAll } from '../../core/provision.ts';

export async function run(): Promise<number> {
  const report = await provisionAll(loadCatalogue());
  createLogger('provision').info(report, 'provisioned');
  process.stdout.write(
    `topics created: ${report.topics.created.length}, grown: ${report.topics.grown.length}, reconfigured: ${report.topics.reconfigured.length}\n` +
      `schemas: ${Object.entries(report.schemas)
        .map(([s, id]) => `${s}#${id}`)
        .join(', ')}\n` +
      `migrations applied: postgres ${report.migrations.postgres.length}, clickhouse ${report.migrations.clickhouse.length}\n`,
  );
  return 0;
}
