/**
 * `millrace start`: the embedded default in one command: install and start the local services,
 * provision, serve the API, and run every pipeline's processors and sinks as supervised worker
 * threads of this process (core/supervisor.ts) until SIGTERM. The services stay up afterwards (`npx millrace infra down` stops them).
 * The API's and the roles' metrics endpoints are written as Prometheus file_sd targets into
 * $MILLRACE_HOME/prometheus/targets (infra/prometheus/prometheus.yml reads them; emptied on a clean
 * stop, so a deliberate stop does not alert as targets down).
 */
import { startApi } from '../../api/server.ts';
import { loadCatalogue } from '../../core/catalogue.ts';
import { loadConfig } from '../../core/config.ts';
import { freePort } from '../../core/free-port.ts';
import { createLogger } from '../../core/logger.ts';
import { provisionAll } from '../../core/provision.ts';
import { onShutdown } from '../../core/shutdown.ts';
import { supervise, type Role } from '../../core/supervisor.ts';
import { infraUp } from '../../infra/index.ts';
import { writeTargets } from '../../infra/prometheus/index.ts';
import { pipelineRoles } from '../../processors/pipelines.ts';
import { refreshAfterProvision } from './sql-users.ts';

/** The commands that serve their metrics on METRICS_HOST:METRICS_PORT. */
const SERVES_METRICS = new Set(['processor', 'sink']);

/** The address Prometheus scrapes for a server bound to `host`: a wildcard bind is scraped on loopback. */
const scrapeHost = (host: string) => (host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host);

export async function run(): Promise<'running'> {
  const log = createLogger('start');
  const { started } = await infraUp();
  log.info({ started }, 'local services up');
  const report = await provisionAll(loadCatalogue());
  log.info({ ...report, sqlUsers: await refreshAfterProvision() }, 'provisioned');

  // METRICS_PORT set: role i serves its metrics on METRICS_PORT + 1 + i; unset (0): each is handed a port free now,
  // which it keeps across restarts (one Prometheus target per role)
  const { METRICS_PORT: metricsBase, METRICS_HOST: metricsHost, API_HOST, API_PORT, API_TLS_CERT } = loadConfig();
  const roles: Role[] = [];
  for (const [i, role] of pipelineRoles().entries()) {
    const port = metricsBase === 0 ? await freePort(metricsHost) : metricsBase + 1 + i;
    roles.push({ ...role, env: { METRICS_PORT: String(port) } });
  }
  const supervisor = supervise(roles, log);
  onShutdown('pipelines', () => supervisor.stop());

  const api = await startApi();
  onShutdown('api', () => api.close());
  const targets = {
    api: [
      {
        targets: [`${scrapeHost(API_HOST)}:${API_PORT}`],
        // an API serving HTTPS (API_TLS_CERT) is scraped over HTTPS: Prometheus reads the scheme from this label
        labels: { component: 'api', ...(API_TLS_CERT === undefined ? {} : { __scheme__: 'https' }) },
      },
    ],
    // processors and sinks serve /metrics; sources and trainers do not (yet)
    roles: roles
      .filter((r) => SERVES_METRICS.has(r.args[0]!))
      .map((r) => ({ targets: [`${scrapeHost(metricsHost)}:${r.env!.METRICS_PORT}`], labels: { component: r.name } })),
  };
  await writeTargets('api', targets.api);
  const rolesFile = await writeTargets('roles', targets.roles);
  log.info({ targets: rolesFile, roles: targets.roles.length }, 'prometheus targets written');
  // registered after the API's: closers run newest first, so the targets go before anything stops
  onShutdown('prometheus targets', async () => {
    await writeTargets('api', []);
    await writeTargets('roles', []);
  });
  process.stderr.write(
    `millrace is running: API on ${api.url}, ${roles.length} pipeline roles (${roles.map((r) => r.name).join(', ')}); Ctrl-C to stop (services keep running, see \`npx millrace infra status\`)\n`,
  );
  return 'running';
}
