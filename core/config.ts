/**
 * The one place Millrace reads its environment. Every role (CLI, API, processors, sinks, infra)
 * asks `loadConfig()`; nothing else touches `process.env`. Defaults point at the local services
 * that `npm run infra:up` starts, so the embedded default needs no configuration at all.
 */
import path from 'node:path';
import { z } from 'zod';
import { errorKind } from './errors.ts';
import { packageRoot as repoRoot } from './package-root.ts';

/** An integer from `min` to `max`; every refusal says so, in the words of `what`. */
const intFromTo = (min: number, max: number, fallback: number, what = 'an integer') => {
  const expected = `${what} from ${min} to ${max}`;
  return z.coerce.number({ error: expected }).int(expected).min(min, expected).max(max, expected).default(fallback);
};
const port = (fallback: number) => intFromTo(1, 65535, fallback, 'a port number');
const positiveInt = (fallback: number, min = 1) =>
  z.coerce
    .number({ error: `an integer >= ${min}` })
    .int(`an integer >= ${min}`)
    .min(min, `an integer >= ${min}`)
    .default(fallback);
const httpUrl = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => /^https?:\/\/[^/]+/.test(v), 'an http(s) URL such as http://127.0.0.1:8123');

/** A comma-separated list: each item trimmed (and `normalise`d), empty ones dropped. */
const commaList = (fallback: string, normalise = (item: string) => item) =>
  z
    .string()
    .default(fallback)
    .transform((v) =>
      v
        .split(',')
        .map((item) => normalise(item.trim()))
        .filter(Boolean),
    );

const hostPortList = commaList('127.0.0.1:9092').refine(
  (list) => list.length > 0 && list.every((b) => /^[^:\s]+:\d{1,5}$/.test(b)),
  'a comma-separated list of host:port',
);

const envSchema = z
  .object({
    MILLRACE_HOME: z.string().default(path.join(repoRoot, '.millrace')),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),

    KAFKA_BROKERS: hostPortList,
    KAFKA_CONTROLLER_PORT: port(9093),
    KAFKA_CLIENT_ID: z.string().default('millrace'),
    /** The address the local cluster's services listen on (infra/cluster-layout.ts); the test hosts' harness sets 10.213.0.1. */
    MILLRACE_CLUSTER_HOST: z.ipv4({ error: 'an IPv4 address' }).default('127.0.0.1'),
    /** 1 for the single local broker; 3 on a real cluster. */
    KAFKA_REPLICATION_FACTOR: positiveInt(1),
    /** min.insync.replicas of the topics provision creates when above 1 (the local cluster: 2, with KAFKA_REPLICATION_FACTOR 3). */
    KAFKA_MIN_INSYNC_REPLICAS: positiveInt(1),

    SCHEMA_REGISTRY_URL: httpUrl('http://127.0.0.1:8081/apis/ccompat/v7'),

    CLICKHOUSE_URL: httpUrl('http://127.0.0.1:8123'),
    CLICKHOUSE_TCP_PORT: port(9000),
    CLICKHOUSE_DATABASE: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain identifier')
      .default('millrace'),
    /**
     * Every replica of the shard, comma-separated HTTP URLs (the local cluster: http://127.0.0.1:18123,http://127.0.0.1:18124).
     * Set, tables are created replicated (core/clickhouse-replicated.ts) on each, and sinks read their
     * positions from a replica that caught up; empty, CLICKHOUSE_URL is a single server.
     */
    CLICKHOUSE_REPLICAS: commaList('').refine(
      (list) => list.every((url) => /^https?:\/\/[^/]+/.test(url)),
      'a comma-separated list of http(s) URLs',
    ),
    CLICKHOUSE_USER: z.string().default('default'),
    CLICKHOUSE_PASSWORD: z.string().default(''),

    POSTGRES_URL: z
      .string()
      .default('postgres://postgres@127.0.0.1:5432/millrace')
      .refine((v) => /^postgres(ql)?:\/\/.+\/[^/]+$/.test(v), 'a postgres:// URL ending in a database name'),

    API_HOST: z.string().default('127.0.0.1'),
    API_PORT: port(8080),
    /** HTTPS: the API's PEM certificate (chain) and private key files, both or neither; then it serves HTTP/2 and HTTP/1.1 over TLS only. */
    API_TLS_CERT: z.string().optional(),
    API_TLS_KEY: z.string().optional(),
    /** Origins allowed by CORS, comma-separated (`*` for any); empty means no cross-origin access. */
    CORS_ORIGINS: commaList(''),
    API_BODY_LIMIT_BYTES: positiveInt(1024 * 1024),
    /** HS256 key for access and refresh tokens; when unset, one is generated once under MILLRACE_HOME. */
    JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
    ACCESS_TOKEN_TTL_S: positiveInt(15 * 60),
    REFRESH_TOKEN_TTL_S: positiveInt(7 * 24 * 60 * 60),
    /** Who may create a tenant at POST /v1/auth/signup: anyone (open), a holder of a sign-up invitation (invite), nobody (closed). */
    SIGNUP_MODE: z.enum(['open', 'invite', 'closed'], { error: 'one of open, invite, closed' }).default('closed'),
    /** Sign-ups and accepted invitations per minute per client IP (each hashes a password and may create a tenant). */
    SIGNUP_RATE_LIMIT_PER_IP: positiveInt(5),
    /** Requests per minute, per API key (or token subject) and per client IP. */
    RATE_LIMIT_PER_KEY: positiveInt(1200),
    RATE_LIMIT_PER_IP: positiveInt(600),
    /** How long ClickHouse answers (analytics views, market bars and indicators) are reused per tenant and query; 0 turns the cache off. */
    ANALYTICS_CACHE_TTL_MS: positiveInt(5_000, 0),
    /** How long past its TTL such an answer is still served while one refresh runs behind it (x-cache: stale, with Age); 0: never. */
    ANALYTICS_CACHE_STALE_MS: positiveInt(30_000, 0),
    /** Refreshes of stale answers running at once, all tenants together: ClickHouse's share kept for answers someone waits for. */
    ANALYTICS_CACHE_REFRESHES: positiveInt(2),
    /** Megabytes of ClickHouse answers the cache holds (as JSON), least recently used out first. */
    ANALYTICS_CACHE_MB: positiveInt(64),
    /** Per tenant, the API's dashboard queries running at once, and waiting for a turn (one more is a 429). */
    QUERY_IN_FLIGHT_PER_TENANT: positiveInt(4),
    QUERY_QUEUE_PER_TENANT: positiveInt(32, 0),
    /** ClickHouse's time limit for a dashboard query, whole seconds; past it the answer is a 503 with Retry-After. */
    QUERY_TIME_LIMIT_S: positiveInt(10),

    /** Where a processor or sink serves Prometheus metrics; 0 picks a free port (logged at start). */
    METRICS_PORT: intFromTo(0, 65535, 0, 'a port number'),
    METRICS_HOST: z.string().default('127.0.0.1'),

    /** Where the market retriever fetches quote pages; the embedded default serves the fixture site here. */
    MARKET_SITE_URL: httpUrl('http://127.0.0.1:8090'),
    /** Risk categories from the ensemble default probability: medium, high and critical start here (ascending, in (0, 1)). */
    FINANCE_RISK_THRESHOLDS: z
      .string()
      .default('0.01,0.05,0.20')
      .transform((v, ctx) => {
        const [medium, high, critical, ...rest] = v.split(',').map((x) => Number(x.trim()));
        const valid =
          [medium, high, critical].every((x) => x !== undefined && x > 0 && x < 1) &&
          rest.length === 0 &&
          medium! < high! &&
          high! < critical!;
        if (!valid)
          ctx.addIssue({
            code: 'custom',
            message: 'three ascending probabilities in (0, 1): medium,high,critical (e.g. 0.01,0.05,0.20)',
          });
        return { medium: medium!, high: high!, critical: critical! };
      }),
    /** The catalog genre model (manifest.json + model.onnx from `millrace train text-classifier`). */
    CATALOG_GENRE_MODEL_DIR: z.string().default(path.join(repoRoot, 'models', 'catalog-genre')),
    /** How often the retriever re-reads the watch list from Postgres. */
    MARKET_WATCHLIST_REFRESH_MS: positiveInt(30_000, 1000),

    /**
     * A request (headers and body) must arrive whole within this time, or the server answers 408 and
     * closes the connection: a client trickling bytes (slowloris) cannot hold a socket for long.
     * Node's default is 5 minutes; the default here lets a 200 MB upload through at ~1 MB/s.
     */
    API_REQUEST_TIMEOUT_MS: positiveInt(300_000, 100),
    /** Hosts the crawler may fetch although they resolve to loopback, private or link-local addresses (comma-separated; empty: none). */
    CRAWL_ALLOWED_HOSTS: commaList('', (host) => host.toLowerCase().replace(/^\[|\]$/g, '')),

    /** Largest upload accepted by POST /v1/uploads (streamed to disk, never held in memory). */
    UPLOAD_MAX_BYTES: positiveInt(200 * 1024 * 1024),

    /**
     * Image search endpoints the dataset crawler queries, comma-separated URL templates with {q} for the
     * search term. Configured by the operator, so their hosts (and images they serve) may be fetched
     * even when local, as CRAWL_ALLOWED_HOSTS would allow.
     */
    CRAWL_SEARCH_ENDPOINTS: commaList('http://127.0.0.1:8090/search/images?q={q}').refine(
      (list) => list.length > 0 && list.every((u) => /^https?:\/\/[^/]+/.test(u) && u.includes('{q}')),
      'a comma-separated list of http(s) URLs containing {q}',
    ),
    /** Prometheus' folder: the file_sd targets `millrace start` writes (targets/), the config `millrace prometheus` runs; default $MILLRACE_HOME/prometheus. */
    PROMETHEUS_DIR: z.string().optional(),
    /** Where accepted dataset images are stored (<dir>/<tenant>/<dataset>/<sha256>.<ext>); default $MILLRACE_HOME/datasets. */
    CRAWL_DATASETS_DIR: z.string().optional(),
    /** Images whose dHashes differ in at most this many of 64 bits are near-duplicates; the first one kept. */
    CRAWL_NEAR_DUPLICATE_DISTANCE: intFromTo(0, 64, 6),
    /** Largest image downloaded; a larger one is rejected as download_failed. */
    CRAWL_IMAGE_MAX_BYTES: positiveInt(10 * 1024 * 1024),
    /** Politeness of the dataset crawler and image downloads, per host: requests started a second (0: no limit) and in flight. */
    CRAWL_RATE_PER_HOST: z.coerce.number({ error: 'a number >= 0' }).min(0, 'a number >= 0').default(5),
    CRAWL_CONCURRENCY_PER_HOST: positiveInt(4),
    /** The User-Agent every crawler request sends (search pages, images, robots.txt); robots.txt groups are matched against its product token. */
    CRAWL_USER_AGENT: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .regex(/^[\x20-\x7e]+$/, 'printable ASCII (a header value)')
      .default('MillraceBot/0.1 (+https://millrace.dev/bot)'),
    /** A trainer's claim on a job lasts this long unless renewed (every third of it); a dead trainer's job is claimed again after it. */
    TRAINER_LEASE_MS: positiveInt(30_000, 1000),
    /** How often an idle trainer looks for claimable jobs besides the requests it consumes (queued elsewhere, or orphaned). */
    TRAINER_POLL_MS: positiveInt(2000, 100),
    /** Online predictions wait this long to share one ONNX run with requests arriving meanwhile. */
    PREDICT_BATCH_WINDOW_MS: positiveInt(2, 0),
    /** The API's feature-drift monitor (models/drift-monitor.ts): how often (0: never), over which window of scored records, above which PSI a feature drifts. */
    MODEL_DRIFT_INTERVAL_MS: positiveInt(300_000, 0),
    MODEL_DRIFT_WINDOW_HOURS: positiveInt(24),
    MODEL_DRIFT_PSI_THRESHOLD: z.coerce.number({ error: 'a number > 0' }).positive('a number > 0').default(0.25),

    /** How long infra:up waits for each service to answer before naming it as failed. */
    INFRA_START_TIMEOUT_MS: positiveInt(120_000, 1000),
  })
  .superRefine((env, ctx) => {
    if ((env.API_TLS_CERT === undefined) !== (env.API_TLS_KEY === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [env.API_TLS_CERT === undefined ? 'API_TLS_CERT' : 'API_TLS_KEY'],
        message: 'a file path: API_TLS_CERT and API_TLS_KEY go together (both or neither)',
      });
  });

export type Config = Readonly<z.infer<typeof envSchema>> & { readonly repoRoot: string };

export class ConfigError extends errorKind('ConfigError', { code: 'config_invalid' }) {}

/** Parses an environment; throws ConfigError naming every bad variable and what it expects. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "not set": `FOO= cmd` should fall back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const shown = /SECRET|PASSWORD/.test(name) ? '(hidden)' : JSON.stringify(cleaned[name]);
      return `${name}=${shown}: expected ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return Object.freeze({ ...result.data, repoRoot });
}

let cached: Config | undefined;

/**
 * The process' configuration, parsed from the environment once (ConfigError on a bad variable).
 *
 * @example
 * const { KAFKA_BROKERS, POSTGRES_URL } = loadConfig();
 */
export function loadConfig(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** The hosts the crawlers may fetch although local: CRAWL_ALLOWED_HOSTS and the search endpoints' hosts. */
export const trustedCrawlHosts = (config: Pick<Config, 'CRAWL_ALLOWED_HOSTS' | 'CRAWL_SEARCH_ENDPOINTS'>): string[] => [
  ...config.CRAWL_ALLOWED_HOSTS,
  ...config.CRAWL_SEARCH_ENDPOINTS.map((template) =>
    new URL(template.replace('{q}', 'q')).hostname.replace(/^\[|\]$/g, '').toLowerCase(),
  ),
];

/** host and port of a URL or host:port, for services whose port is implied by their address. */
export function hostAndPort(address: string): { host: string; port: number } {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  const fallback = url.protocol === 'https:' ? 443 : 80;
  return { host: url.hostname, port: url.port ? Number(url.port) : fallback };
}
