/**
 * Images/s through the image-validation processor (the real runtime: Kafka transactions, Postgres
 * verdicts, files), rate limits off, against the fixture site's image search engine: a dataset of
 * `keywords` keywords (2 search terms each, 12 results a term: valid, tiny, corrupt, duplicates,
 * missing) is crawled into a topic of the benchmark's own, then validated. Prints the crawl's
 * pages/s and the processor's images/s (steady: first to last verdict; and wall: from the
 * processor's start, group join included).
 * Run (services up): node --import tsx bench/image-crawl.ts [keywords=20]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createTenant } from '../api/auth/accounts.ts';
import { FetchLog } from '../domain/crawl/fetch-log.ts';
import { Fetcher } from '../domain/crawl/fetcher.ts';
import { IMAGE_RESULTS, resultBytes } from '../connectors/sources/fixture-site/images.ts';
import { startFixtureSite } from '../connectors/sources/fixture-site/server.ts';
import { ImageDatasets } from '../connectors/sources/image-search/image-datasets.ts';
import { createClickHouse } from '../core/clickhouse.ts';
import { loadConfig } from '../core/config.ts';
import { createKafka } from '../core/kafka.ts';
import { createLogger } from '../core/logger.ts';
import { createPostgresPool } from '../core/postgres.ts';
import { AvroProducer } from '../core/producer.ts';
import { provisionTopics, registerSchemas } from '../core/provision.ts';
import { Registry } from '../core/schema-registry.ts';
import { resolveTopic } from '../core/topic-checks.ts';
import { imageValidation } from '../processors/images/index.ts';
import { DatasetImageStore } from '../domain/images/image-store.ts';
import { runProcessor } from '../processors/runtime/index.ts';

const keywords = Number(process.argv[2] ?? 20);
const run = randomBytes(3).toString('hex');
const log = createLogger('bench');
const kafka = createKafka('millrace-bench');
const registry = new Registry();
const db = createPostgresPool(8);
const clickhouse = createClickHouse();
const producer = new AvroProducer(kafka, registry);
const root = mkdtempSync(path.join(tmpdir(), 'millrace-bench-datasets-'));
const schemas = path.join(loadConfig().repoRoot, 'schemas');
const topic = (stage: string, schema: string) =>
  resolveTopic(
    {
      name: `bench.images_${run}.${stage}`,
      partitions: 6,
      cleanup: { policy: 'delete', retentionMs: 86_400_000 },
      schema,
    },
    schemas,
  );
const input = topic('raw', 'crawl.images.raw.avsc');
const output = topic('accepted', 'crawl.images.accepted.avsc');

const site = await startFixtureSite();
await provisionTopics(kafka, [input, output]);
await registerSchemas(registry, [input, output]);
await producer.connect();
const tenant = await createTenant(db, `bench-${run}`);
const datasets = new ImageDatasets({
  db,
  producer,
  clickhouse,
  log,
  searchEndpoints: [`${site.url}/search/images?q={q}`],
  root,
  fetcher: { ratePerSecondPerHost: 0, concurrencyPerHost: 8 },
  topic: input.name,
});

let started = performance.now();
const dataset = await datasets.create(tenant.id, {
  name: 'bench',
  keywords: Array.from({ length: keywords }, (_, i) => `bench${run}k${i}`),
  per_keyword: 1000,
  min_width: 32,
  min_height: 32,
  formats: ['png', 'jpeg', 'gif', 'webp'],
});
await datasets.idle();
const crawled = await datasets.status(tenant.id, dataset.id);
const crawlSeconds = (performance.now() - started) / 1000;

// the fixture site runs in this process, on the same two cores: its images are made before the clock starts
for (const { terms } of crawled.keywords)
  for (const term of terms) for (let n = 0; n < IMAGE_RESULTS.length; n++) await resultBytes(term, n);

const fetchLog = new FetchLog(clickhouse);
const fetcher = new Fetcher({
  crawl: `bench-${run}`,
  log: fetchLog,
  logger: log,
  ratePerSecondPerHost: 0,
  concurrencyPerHost: 8,
  retries: 1,
  allowedHosts: [new URL(site.url).hostname],
});
const spec = imageValidation(
  { store: new DatasetImageStore(db, root, loadConfig().CRAWL_NEAR_DUPLICATE_DISTANCE), fetcher, fetchLog },
  { input: input.name, output: output.name },
);
started = performance.now();
const processor = await runProcessor({ ...spec, name: `image-validation-bench-${run}` }, { kafka, registry });
for (;;) {
  const status = await datasets.status(tenant.id, dataset.id);
  if (status.state === 'done') break;
  await new Promise((r) => setTimeout(r, 100));
}
const wallSeconds = (performance.now() - started) / 1000;
const { rows } = await db.query<{ n: number; seconds: number }>(
  'SELECT count(*)::int AS n, extract(epoch FROM max(decided_at) - min(decided_at))::float AS seconds FROM image_dataset_items WHERE dataset_id = $1',
  [dataset.id],
);
const final = await datasets.status(tenant.id, dataset.id);
await processor.stop();

const { n, seconds } = rows[0]!;
process.stdout.write(
  `crawl: ${crawled.search_pages.fetched} results pages, ${crawled.counts.found} images found in ${crawlSeconds.toFixed(2)} s (${Math.round(crawled.search_pages.fetched / crawlSeconds)} pages/s)\n` +
    `validate: ${n} images (${final.counts.accepted} accepted, ${final.counts.rejected.total} rejected, ${final.counts.duplicates.total} duplicates): ` +
    `${Math.round((n - 1) / seconds)} images/s steady (first to last verdict), ${Math.round(n / wallSeconds)} images/s wall (${wallSeconds.toFixed(2)} s from processor start)\n`,
);

const admin = kafka.admin();
await admin.connect();
await admin
  .deleteTopics({ topics: [input.name, output.name, `${input.name}.dlq`, `${output.name}.dlq`] })
  .catch(() => undefined);
await Promise.all([admin.disconnect(), producer.disconnect(), fetchLog.flush(), site.close()]);
await Promise.all([clickhouse.close(), db.end()]);
rmSync(root, { recursive: true, force: true });
