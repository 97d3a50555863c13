/**
 * `millrace start`: the embedded default in one command: install and start the local services,
 * provision, then run what the platform has (the API so far) until SIGTERM. The services stay up
 * afterwards (`npx millrace infra down` stops them).
 */
import { startApi } from '../../api/server.ts';
import { loadCatalogue } from '../../core/catalogue.ts';
import { createLogger } from '../../core/logger.ts';
import { provisionAll } from '../../core/provision.ts';
import { onShutdown } from '../../core/shutdown.ts';
import { infraUp } from '../../infra/index.ts';


export async function run(): Promise<'running'> {
  const log = createLogger('start');
  const { started } = await infraUp();
  log.info({ started }, 'local services up');
  const report = await provisionAll(loadCatalogue());
  log.info(report, 'provisioned');
  const api = await startApi();
  onShutdown('api', () => api.close());
  process.stderr.write(`millrace is running: API on ${api.url} (Ctrl-C to stop; services keep running, see \`npx millrace infra status\`)\n`);
  return 'running';
}
