/**
 * `millrace processor <name> [--input T] [--output U] [--model ID] [--session-timeout-ms N] [--concurrency N]`:
 * runs a processor of processors/index.ts exactly-once until SIGTERM, with Prometheus metrics on
 * METRICS_HOST:METRICS_PORT. `passthrough` copies --input to --output unchanged; `model-scoring`
 * scores with the active (and shadow) versions of --model.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../../core/logger.ts';
import { startMetricsServer } from '../../core/metrics.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { startHeartbeat } from '../../core/role-heartbeat.ts';
import { onShutdown, shutdown } from '../../core/shutdown.ts';
import { processors } from '../../processors/index.ts';
import { processorGroupOf, runProcessor } from '../../processors/runtime/index.ts';
import { flags, positiveOption as positive } from './options.ts';

/** The command's flags (processors/component.ts documents them; a test keeps the two in step). */
export const processorOptions = flags('string', 'input', 'output', 'model', 'session-timeout-ms', 'concurrency');

export async function run(args: string[]): Promise<'running'> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: processorOptions });
  const [name] = positionals;
  const factory = name ? processors[name] : undefined;
  if (!factory) {
    throw new Error(
      `usage: millrace processor <${Object.keys(processors).join('|')}> [--input T] [--output U] [--model ID] [--session-timeout-ms N] [--concurrency N]`,
    );
  }
  const spec = factory({ input: values.input, output: values.output, model: values.model });
  const log = createLogger('processor', { processor: spec.name });

  const metricsServer = await startMetricsServer();
  onShutdown('metrics', () => metricsServer.close());
  const db = createPostgresPool(1);
  onShutdown('postgres', () => db.end());
  const processor = await runProcessor(spec, {
    log,
    sessionTimeoutMs: positive('session-timeout-ms', values['session-timeout-ms']),
    concurrency: positive('concurrency', values.concurrency),
    onFatal: (error) => {
      log.fatal({ err: error }, 'processor consumer crashed for good, exiting');
      process.exitCode = 1;
      void shutdown('processor crashed').then(() => process.exit(1));
    },
  });
  // closers run newest first: the processor stops (batch in flight committed) before metrics go
  onShutdown(`processor ${spec.name}`, () => processor.stop());
  // registered last, so run first on shutdown: the status says stopped before the role is
  const heartbeat = await startHeartbeat(
    db,
    {
      role: 'processor',
      name: spec.name,
      groupId: processorGroupOf(spec.name),
      topics: [spec.input],
      metricsUrl: metricsServer.url,
    },
    log,
  );
  onShutdown('status heartbeat', () => heartbeat.stop());
  log.info({ input: spec.input, output: spec.output, metrics: metricsServer.url }, 'processor running');
  return 'running';
}
