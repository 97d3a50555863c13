/**
 * Configuration fields several components read, declared once for their specs (core/component-spec.ts):
 * the database connections and where metrics are served. Names and defaults are core/config.ts's.
 */
import type { ConfigField } from './component-spec.ts';

export const POSTGRES_URL: ConfigField = {
  name: 'POSTGRES_URL',
  type: 'url',
  default: 'postgres://postgres@127.0.0.1:5432/millrace',
  description: 'the Postgres database',
  example: 'postgres://millrace@db.internal:5432/millrace',
};

export const CLICKHOUSE_URL: ConfigField = {
  name: 'CLICKHOUSE_URL',
  type: 'url',
  default: 'http://127.0.0.1:8123',
  description: "ClickHouse's HTTP interface",
  example: 'http://clickhouse.internal:8123',
};

export const CLICKHOUSE_DATABASE: ConfigField = {
  name: 'CLICKHOUSE_DATABASE',
  type: 'identifier',
  default: 'millrace',
  description: 'the ClickHouse database the tables are in',
  example: 'millrace',
};

/** Processors and sinks serve Prometheus metrics (core/metrics.ts). */
export const METRICS_FIELDS: readonly ConfigField[] = [
  {
    name: 'METRICS_PORT',
    type: 'integer',
    default: '0',
    description:
      'port of the Prometheus /metrics endpoint; 0 picks a free one (logged at start; `millrace start` gives each role its own)',
    example: '9464',
  },
  {
    name: 'METRICS_HOST',
    type: 'string',
    default: '127.0.0.1',
    description: 'address the metrics endpoint listens on',
    example: '0.0.0.0',
  },
];

export const CRAWL_ALLOWED_HOSTS: ConfigField = {
  name: 'CRAWL_ALLOWED_HOSTS',
  type: 'host list',
  default: '',
  description:
    'hosts that may be fetched although they resolve to loopback, private or link-local addresses (comma-separated; empty: none)',
  example: 'intranet.example,10.0.0.5',
};

/** The image search endpoints the dataset crawl queries (core/config.ts CRAWL_SEARCH_ENDPOINTS). */
export const CRAWL_SEARCH_ENDPOINTS: ConfigField = {
  name: 'CRAWL_SEARCH_ENDPOINTS',
  type: 'url list',
  default: 'http://127.0.0.1:8090/search/images?q={q}',
  description: 'the image search endpoints (URL templates with {q}); their hosts may be fetched even when local',
  example: 'https://images.example/search?q={q}',
};

/** Where image datasets' folders are. */
export const CRAWL_DATASETS_DIR: ConfigField = {
  name: 'CRAWL_DATASETS_DIR',
  type: 'path',
  default: '$MILLRACE_HOME/datasets',
  description: "where the datasets' folders are",
  example: '/srv/millrace/datasets',
};

/** Every role that talks to Kafka reads these too: specs leave them out, help and docs name them once. */
export const COMMON_SETTINGS = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'LOG_LEVEL'] as const;

/** The cap on a file streamed to disk (uploads, bulk predictions, batch scoring). */
export const UPLOAD_MAX_BYTES: ConfigField = {
  name: 'UPLOAD_MAX_BYTES',
  type: 'integer',
  default: '209715200',
  description: 'largest file accepted (streamed to disk, never held in memory); a larger one is a 413',
  example: '52428800',
};

export const MILLRACE_HOME: ConfigField = {
  name: 'MILLRACE_HOME',
  type: 'path',
  default: '<checkout>/.millrace',
  description: 'where files, data and logs are kept',
  example: '/var/lib/millrace',
};

/** The polite crawler's limits per host (domain/crawl/fetcher.ts). */
export const CRAWL_PER_HOST: readonly ConfigField[] = [
  {
    name: 'CRAWL_RATE_PER_HOST',
    type: 'number',
    default: '5',
    description: 'requests started per second per host (0: no limit)',
    example: '2',
  },
  {
    name: 'CRAWL_CONCURRENCY_PER_HOST',
    type: 'integer',
    default: '4',
    description: 'requests in flight per host',
    example: '2',
  },
];
