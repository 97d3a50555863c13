import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../core/config.ts';
import { datasetsDirOf } from './image-store.ts';

describe('image dataset configuration', () => {
  it('defaults: the fixture engine, datasets under MILLRACE_HOME, near-duplicates within 6 bits, polite', () => {
    const config = parseConfig({ MILLRACE_HOME: '/srv/millrace' });
    assert.deepEqual(config.CRAWL_SEARCH_ENDPOINTS, ['http://127.0.0.1:8090/search/images?q={q}']);
    assert.equal(datasetsDirOf(config), path.join('/srv/millrace', 'datasets'));
    assert.deepEqual(
      [config.CRAWL_NEAR_DUPLICATE_DISTANCE, config.CRAWL_RATE_PER_HOST, config.CRAWL_CONCURRENCY_PER_HOST],
      [6, 5, 4],
    );
    assert.equal(datasetsDirOf(parseConfig({ CRAWL_DATASETS_DIR: '/data/sets' })), '/data/sets');
  });

  it('takes several endpoints and names each bad variable with what it expects', () => {
    assert.deepEqual(
      parseConfig({ CRAWL_SEARCH_ENDPOINTS: 'http://a.test/s?q={q}, https://b.test/i?query={q}&n=50' })
        .CRAWL_SEARCH_ENDPOINTS,
      ['http://a.test/s?q={q}', 'https://b.test/i?query={q}&n=50'],
    );
    assert.throws(
      () => parseConfig({ CRAWL_SEARCH_ENDPOINTS: 'http://a.test/s?q=cats' }),
      /CRAWL_SEARCH_ENDPOINTS=.*containing \{q\}/,
    );
    assert.throws(
      () => parseConfig({ CRAWL_NEAR_DUPLICATE_DISTANCE: '65' }),
      /CRAWL_NEAR_DUPLICATE_DISTANCE="65": expected an integer from 0 to 64/,
    );
    assert.throws(() => parseConfig({ CRAWL_RATE_PER_HOST: '-1' }), /CRAWL_RATE_PER_HOST="-1": expected a number >= 0/);
  });
});
