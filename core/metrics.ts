/**
 * Prometheus metrics (prom-client) for processors and sinks, labelled by the role's name, and the
 * small HTTP server that exposes them on METRICS_HOST:METRICS_PORT at /metrics. The alerts built on
 * them are in infra/prometheus/rules.yml (with promtool tests beside it): a renamed metric or label
 * must be renamed there too.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry as MetricsRegistry, collectDefaultMetrics } from 'prom-client';
import { loadConfig } from './config.ts';

export const metricsRegistry = new MetricsRegistry();
// the event-loop delay histogram samples on a timer: prom-client's 10 ms woke every idle role 100 times a second
collectDefaultMetrics({ register: metricsRegistry, eventLoopMonitoringPrecision: 500 });

const labelNames = ['role', 'name'] as const;

export const metrics = {
  recordsIn: new Counter({
    name: 'millrace_records_in_total',
    help: 'Records consumed',
    labelNames,
    registers: [metricsRegistry],
  }),
  recordsOut: new Counter({
    name: 'millrace_records_out_total',
    help: 'Records produced or written',
    labelNames,
    registers: [metricsRegistry],
  }),
  dlq: new Counter({
    name: 'millrace_dlq_records_total',
    help: 'Records sent to a dead-letter topic',
    labelNames,
    registers: [metricsRegistry],
  }),
  retries: new Counter({
    name: 'millrace_retries_total',
    help: 'Retries after a downstream failure',
    labelNames,
    registers: [metricsRegistry],
  }),
  batchSize: new Histogram({
    name: 'millrace_batch_size',
    help: 'Records per processed batch',
    labelNames,
    buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000],
    registers: [metricsRegistry],
  }),
  batchSeconds: new Histogram({
    name: 'millrace_batch_duration_seconds',
    help: 'Time to process one batch, from fetch to commit',
    labelNames,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
    registers: [metricsRegistry],
  }),
  lag: new Gauge({
    name: 'millrace_consumer_lag',
    help: 'High watermark minus the next offset to process, per partition',
    labelNames: [...labelNames, 'topic', 'partition'],
    registers: [metricsRegistry],
  }),
  /** Set by the API's drift monitor (models/drift-monitor.ts): each input feature's PSI, scored window against training rows. */
  modelFeaturePsi: new Gauge({
    name: 'millrace_model_feature_psi',
    help: "Population stability index of a production model's input feature: the last window it scored against its training rows",
    labelNames: ['model', 'version', 'feature'],
    registers: [metricsRegistry],
  }),
  modelDrifting: new Gauge({
    name: 'millrace_model_drifting',
    help: "1 when some input feature's PSI is above MODEL_DRIFT_PSI_THRESHOLD, else 0",
    labelNames: ['model', 'version'],
    registers: [metricsRegistry],
  }),
  /**
   * The scores' probabilities, by model and version (active and shadow): the model-drift alert
   * compares the last hour's mean with the day before. Observed when a batch is scored, so a batch
   * whose transaction is retried counts twice (the same records: the distribution barely moves).
   */
  modelProbability: new Histogram({
    name: 'millrace_model_probability',
    help: 'Probability of the positive class in each score, by model and version (active and shadow)',
    labelNames: ['model', 'version'],
    buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    registers: [metricsRegistry],
  }),
  /** Set by the supervisor (`millrace start`), so served by the API's /metrics: a role's child exited and was started again. */
  roleRestarts: new Counter({
    name: 'millrace_role_restarts_total',
    help: 'Times a supervised role (millrace start) exited unexpectedly and was started again',
    labelNames,
    registers: [metricsRegistry],
  }),
};

/**
 * Serves /metrics; resolves once listening, with the URL (useful when the port was 0).
 *
 * @example
 * const server = await startMetricsServer(0, '127.0.0.1');
 * log.info({ url: server.url }, 'metrics');
 * await server.close();
 */
export async function startMetricsServer(
  port = loadConfig().METRICS_PORT,
  host = loadConfig().METRICS_HOST,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('see /metrics\n');
      return;
    }
    metricsRegistry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(body),
      (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message),
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
