/** The image validate processor as `millrace processor image-validation` runs it: its clients from the configuration. */
import { FetchLog } from '../../domain/crawl/fetch-log.ts';
import { Fetcher } from '../../domain/crawl/fetcher.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig, trustedCrawlHosts } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { imageValidation } from './index.ts';
import { DatasetImageStore, datasetsDirOf } from '../../domain/images/image-store.ts';

export function imageValidationFromConfig(topics?: { input: string; output: string }) {
  const config = loadConfig();
  const fetchLog = new FetchLog(createClickHouse());
  const fetcher = new Fetcher({
    crawl: 'image-validation',
    log: fetchLog,
    logger: createLogger('fetcher', { processor: 'image-validation' }),
    ratePerSecondPerHost: config.CRAWL_RATE_PER_HOST,
    concurrencyPerHost: config.CRAWL_CONCURRENCY_PER_HOST,
    maxBytes: config.CRAWL_IMAGE_MAX_BYTES,
    allowedHosts: trustedCrawlHosts(config),
  });
  const store = new DatasetImageStore(
    createPostgresPool(4),
    datasetsDirOf(config),
    config.CRAWL_NEAR_DUPLICATE_DISTANCE,
  );
  return imageValidation({ store, fetcher, fetchLog }, topics);
}
