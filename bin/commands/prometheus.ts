/**
 * `millrace prometheus [--port N]`: Debian's Prometheus (installed if absent) with
 * infra/prometheus/prometheus.yml and rules.yml, scraping the API and the roles that `millrace
 * start` lists in $MILLRACE_HOME/prometheus/targets, until SIGTERM. Its data stays in
 * $MILLRACE_HOME/data/prometheus; the UI is on 127.0.0.1:<port> (9090 by default).
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../../core/logger.ts';
import { onShutdown, shutdown } from '../../core/shutdown.ts';
import { startPrometheus, targetsDir } from '../../infra/prometheus/index.ts';
import { flags, positiveOption } from './options.ts';

export async function run(args: string[]): Promise<'running'> {
  const { values } = parseArgs({ args, options: flags('string', 'port') });
  const port = positiveOption('port', values.port) ?? 9090;
  const log = createLogger('prometheus');
  const prometheus = await startPrometheus({ port });
  let stopping = false;
  onShutdown('prometheus', () => {
    stopping = true;
    return prometheus.close();
  });
  void prometheus.exited.then((code) => {
    if (stopping) return;
    log.error({ code }, 'prometheus exited');
    process.exitCode = 1;
    void shutdown('prometheus exited').then(() => process.exit(1));
  });
  log.info({ url: prometheus.url, targets: targetsDir }, 'prometheus running');
  return 'running';
}
