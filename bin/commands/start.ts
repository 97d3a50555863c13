/**
 * `millrace start`: the embedded default in one command: install and start the local services,
 * provision, serve the API, and run every pipeline's processors and sinks as supervised child
 * processes until SIGTERM. The services stay up afterwards (`npx millrace infra down` stops them).
 */
import { startApi } from '../../api/server.ts';
import { loadCatalogue } from '../../core/catalogue.ts';
import { loadConfig } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import { provisionAll } from '../../core/provision.ts';
import { onShutdown } from '../../core/shutdown.ts';
import { supervise, type Role } from '../../core/supervisor.ts';
import { infraUp } from '../../infra/index.ts';
import { pipelines } from '../../processors/pipelines.ts';
import { refreshAfterProvision } from './sql-users.ts';

export async function run(): Promise<'running'> {
  const log = createLogger('start');
  const { started } = await infraUp();
  log.info({ started }, 'local services up');
  const report = await provisionAll(loadCatalogue());
  log.info({ ...report, sqlUsers: await refreshAfterProvision() }, 'provisioned');

  // METRICS_PORT set: role i serves its metrics on METRICS_PORT + 1 + i; unset (0): each picks a free port and logs it
  const metricsBase = loadConfig().METRICS_PORT;
  const roles: Role[] = pipelines
    .flatMap((p) => p.roles)
    .map((args, i) => ({
      name: args.slice(0, 2).join(' '),
      args,
      env: { METRICS_PORT: String(metricsBase === 0 ? 0 : metricsBase + 1 + i) },
    }));
  const supervisor = supervise(roles, log);
  onShutdown('pipelines', () => supervisor.stop());

  const api = await startApi();
  onShutdown('api', () => api.close());
  process.stderr.write(
    `millrace is running: API on ${api.url}, ${roles.length} pipeline roles (${roles.map((r) => r.name).join(', ')}); Ctrl-C to stop (services keep running, see \`npx millrace infra status\`)\n`,
  );
  return 'running';
}
