/**
 * `millrace sink <name> [--topic T] [--table X] [--as NAME] [--max-rows N] [--max-ms N] [--session-timeout-ms N]`:
 * runs a sink of connectors/sinks/index.ts until SIGTERM, with Prometheus metrics on
 * METRICS_HOST:METRICS_PORT. The options point a sink at another topic or table (`--as` gives it
 * its own name, hence its own consumer group and stored offsets).
 */
import { parseArgs } from 'node:util';
import { sinks, startSink, withOverrides } from '../../connectors/sinks/index.ts';
import { createLogger } from '../../core/logger.ts';
import { startMetricsServer } from '../../core/metrics.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { startHeartbeat } from '../../core/role-heartbeat.ts';
import { onShutdown, shutdown } from '../../core/shutdown.ts';
import { flags, positiveOption } from './options.ts';

/** The command's flags (connectors/sinks/component.ts documents them; a test keeps the two in step). */
export const sinkOptions = flags('string', 'topic', 'table', 'as', 'max-rows', 'max-ms', 'session-timeout-ms');

export async function run(args: string[]): Promise<'running'> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: sinkOptions });
  const [name] = positionals;
  const base = name ? sinks[name] : undefined;
  if (!base)
    throw new Error(
      `usage: millrace sink <${Object.keys(sinks).join('|')}> [--topic T] [--table X] [--as NAME] [--max-rows N] [--max-ms N]`,
    );
  const maxRows = positiveOption('max-rows', values['max-rows']);
  const maxMs = positiveOption('max-ms', values['max-ms']);
  const sessionTimeoutMs = positiveOption('session-timeout-ms', values['session-timeout-ms']);
  const spec = withOverrides(base, {
    name: values.as,
    topic: values.topic,
    table: values.table,
    batch: maxRows || maxMs ? { ...base.batch, maxRows, maxMs } : undefined,
    consumer: sessionTimeoutMs ? { sessionTimeoutMs } : undefined,
  });
  const log = createLogger('sink', { sink: spec.name });

  const metricsServer = await startMetricsServer();
  onShutdown('metrics', () => metricsServer.close());
  const db = createPostgresPool(1);
  onShutdown('postgres', () => db.end());
  const sink = await startSink(spec, {
    log,
    onFatal: (error) => {
      log.fatal({ err: error }, 'sink consumer crashed for good, exiting');
      process.exitCode = 1;
      void shutdown('sink crashed').then(() => process.exit(1));
    },
  });
  // closers run newest first: the sink stops (batch in flight written or rolled back) before metrics go
  onShutdown(`sink ${spec.name}`, () => sink.stop());
  // registered last, so run first on shutdown: the status says stopped before the role is
  const heartbeat = await startHeartbeat(
    db,
    {
      role: 'sink',
      name: spec.name,
      groupId: `millrace.sink.${spec.name}`,
      topics: [spec.topic],
      metricsUrl: metricsServer.url,
    },
    log,
  );
  onShutdown('status heartbeat', () => heartbeat.stop());
  log.info({ topic: spec.topic, table: spec.table, target: spec.target, metrics: metricsServer.url }, 'sink running');
  return 'running';
}
