/**
 * Image datasets end to end against the real services: the API creates a dataset and crawls the
 * fixture site's image search engine, the image-validation processor (the real runtime) judges
 * every image, and the counts, files, manifest, progress stream, redelivery and resumption are
 * checked against what the fixture says each image is.
 */
import './allow-local-crawl.ts';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../api/app.ts';
import { loadConfig } from '../../core/config.ts';
import { composeApi } from '../../api/compose.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { FetchLog } from '../../domain/crawl/fetch-log.ts';
import { Fetcher } from '../../domain/crawl/fetcher.ts';
import { IMAGE_RESULTS, RESULTS_PAGE_SIZE } from '../../connectors/sources/fixture-site/images.ts';
import { startFixtureSite, type FixtureSite } from '../../connectors/sources/fixture-site/server.ts';
import { FOUND_TOPIC } from '../../connectors/sources/image-search/crawl-job.ts';
import {
  ImageDatasets,
  type ImageDatasetStatus,
  type ManifestLine,
} from '../../connectors/sources/image-search/image-datasets.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { decodeImage } from '../../processors/images/decode.ts';
import { imageValidation } from '../../processors/images/index.ts';
import { DatasetImageStore } from '../../domain/images/image-store.ts';
import { processorGroupOf, runProcessor, type RunningProcessor } from '../../processors/runtime/index.ts';
import { eventually } from '../../testkit/helpers.ts';
import { MillraceProcess, readCommitted, waitForCommitted } from '../../testkit/processor-helpers.ts';
import type { AcceptedImage, FoundImage } from '../../schemas/records/crawl.ts';

const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(8);
const clickhouse = createClickHouse();
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const log = createLogger('test');
const root = mkdtempSync(path.join(tmpdir(), 'millrace-datasets-'));
const suffix = randomBytes(3).toString('hex');
let site: FixtureSite;
let datasets: ImageDatasets;
let processor: RunningProcessor;
let app: App;
let key: string;
let otherKey: string;

const auth = (k: string) => ({ authorization: `Bearer ${k}` });
const get = (url: string, k = key) => app.request(url, { headers: auth(k) });
const create = (body: unknown) =>
  app.request('/v1/image-datasets', {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { ...auth(key), 'content-type': 'application/json' },
  });
const status = async (id: string) => (await (await get(`/v1/image-datasets/${id}`)).json()) as ImageDatasetStatus;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The SSE stream until it ends (the server closes it after `done`): every event's name and data. */
async function events(id: string): Promise<{ event: string; data: ImageDatasetStatus }[]> {
  const response = await get(`/v1/image-datasets/${id}/events`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)![1]!,
      data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as ImageDatasetStatus,
    }));
}

async function verdicts(datasetId: string) {
  const { rows } = await db.query<{
    url: string;
    verdict: string;
    reason: string | null;
    format: string | null;
    content_type: string | null;
    duplicate_of: string | null;
  }>('SELECT url, verdict, reason, format, content_type, duplicate_of FROM image_dataset_items WHERE dataset_id = $1', [
    datasetId,
  ]);
  return new Map(rows.map((r) => [r.url, r]));
}

const searchRequests = () => site.requests.filter((r) => r.path.startsWith('/search/images')).length;

before(async () => {
  await Promise.all([producer.connect(), admin.connect()]);
  site = await startFixtureSite();
  const tenant = await createTenant(db, `datasets-${suffix}`);
  const other = await createTenant(db, `datasets-other-${suffix}`);
  key = (await createKey(db, tenant.id, 'producer')).key;
  otherKey = (await createKey(db, other.id, 'admin')).key;
  datasets = new ImageDatasets({
    db,
    producer,
    clickhouse,
    log,
    searchEndpoints: [`${site.url}/search/images?q={q}`],
    root,
    fetcher: { ratePerSecondPerHost: 0, concurrencyPerHost: 4, backoffMs: 20 },
  });
  app = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin, db, clickhouse },
    {
      log,
      checks: {},
      topics: [],
      uploads: new Uploads(db, root, producer, log),
      imageDatasets: datasets,
    },
  ).app;
  const fetchLog = new FetchLog(clickhouse);
  const fetcher = new Fetcher({
    crawl: 'test-images',
    log: fetchLog,
    logger: log,
    ratePerSecondPerHost: 0,
    concurrencyPerHost: 8,
    retries: 1,
    backoffMs: 20,
  });
  processor = await runProcessor(imageValidation({ store: new DatasetImageStore(db, root, 6), fetcher, fetchLog }), {
    kafka,
    registry,
  });
});

after(async () => {
  await processor?.stop();
  await datasets.idle();
  await site.close();
  await Promise.all([producer.disconnect(), admin.disconnect(), clickhouse.close()]);
  await db.end();
  rmSync(root, { recursive: true, force: true });
});

describe('image datasets', () => {
  let id: string;
  const terms = ['zebra', 'zebras'];
  const urlOf = (term: string, n: number) => `${site.url}/images/${encodeURIComponent(term)}/${n}`;

  it('refuses bad input with a 400 naming the field', async () => {
    const valid = { name: 'x', keywords: ['zebra'], per_keyword: 10, min_width: 1, min_height: 1, formats: ['png'] };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, per_keyword: 0 }, 'per_keyword'],
      [{ ...valid, formats: ['png', 'tiff'] }, 'formats.1'],
      [{ ...valid, keywords: [] }, 'keywords'],
      [{ ...valid, keywords: ['zebra', ' '] }, 'keywords.1'],
      [{ ...valid, min_width: -1 }, 'min_width'],
      [{ ...valid, name: undefined }, 'name'],
      [{ ...valid, extras: { lion: ['big cat'] } }, 'extras.lion'],
    ];
    for (const [body, field] of cases) {
      const response = await create(body);
      const error = (await response.json()) as { field?: string; message: string };
      assert.deepEqual([response.status, error.field], [400, field], `${field}: ${error.message}`);
    }
  });

  it(
    'crawls the search engine, validates every image, and reaches done over SSE with exact counts',
    { timeout: 180_000 },
    async () => {
      const response = await create({
        name: 'zebras',
        keywords: ['Zebra'],
        per_keyword: 100,
        min_width: 32,
        min_height: 32,
        formats: ['png', 'jpeg', 'webp'],
      });
      assert.equal(response.status, 201);
      const created = (await response.json()) as ImageDatasetStatus;
      id = created.id;
      assert.deepEqual(created.keywords, [{ keyword: 'zebra', terms }]);

      const stream = await events(id);
      assert.equal(stream.at(-1)!.event, 'done');
      assert.ok(stream.slice(0, -1).every((e) => e.event === 'progress'));
      const final = await status(id);
      assert.equal(final.state, 'done');
      // per search term, the fixture's 12 results: 5 accepted, 5 rejected (one per reason), a near and an exact duplicate
      assert.deepEqual(final.counts, {
        found: 24,
        validated: 24,
        downloaded: 22,
        accepted: 10,
        rejected: {
          total: 10,
          by_reason: { corrupt: 2, download_failed: 2, format_not_allowed: 2, too_small: 2, unknown_format: 2 },
        },
        duplicates: { total: 4, exact: 2, near: 2 },
      });
      assert.deepEqual(final.search_pages, { fetched: 4, failed: 0 });
      assert.deepEqual(stream.at(-1)!.data.counts, final.counts);
    },
  );

  it('judges each image as the fixture says: by its bytes, whatever its content type; one of each duplicate pair kept', async () => {
    const judged = await verdicts(id);
    assert.equal(judged.size, 24);
    for (const term of terms) {
      for (const [n, result] of IMAGE_RESULTS.entries()) {
        const v = judged.get(urlOf(term, n))!;
        if (IMAGE_RESULTS.some((r) => r.duplicates === n)) continue; // checked with its twin below
        if (result.duplicates === undefined) {
          assert.deepEqual([v.verdict, v.reason], [result.expect.verdict, result.expect.reason], `${term} ${n}`);
          if (result.expect.format) assert.equal(v.format, result.expect.format, `${term} ${n} judged by its bytes`);
          continue;
        }
        // a pair: whichever came first is kept, the other names it
        const twin = judged.get(urlOf(term, result.duplicates))!;
        const [kept, dropped] = v.verdict === 'accepted' ? [v, twin] : [twin, v];
        assert.equal(kept.verdict, 'accepted', `${term} ${n}: one of the pair is kept`);
        assert.deepEqual(
          [dropped.verdict, dropped.reason, dropped.duplicate_of],
          ['duplicate', result.expect.reason, kept.url],
          `${term} ${n}`,
        );
      }
      const lying = judged.get(urlOf(term, 8))!;
      assert.deepEqual([lying.content_type, lying.format, lying.verdict], ['image/png', 'jpeg', 'accepted']);
      const untyped = judged.get(urlOf(term, 11))!;
      assert.deepEqual([untyped.content_type, untyped.format, untyped.verdict], ['text/plain', 'webp', 'accepted']);
      const html = judged.get(urlOf(term, 9))!;
      assert.deepEqual([html.content_type, html.verdict, html.reason], ['image/jpeg', 'rejected', 'unknown_format']);
    }
  });

  it('exports a manifest that matches the files on disk (sha256 recomputed, dimensions decoded)', async () => {
    const response = await get(`/v1/image-datasets/${id}/export`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ManifestLine);
    assert.equal(lines.length, 10);
    const accepted = [...(await verdicts(id)).values()].filter((v) => v.verdict === 'accepted').map((v) => v.url);
    assert.deepEqual(lines.map((l) => l.source_url).sort(), accepted.sort());
    for (const line of lines) {
      const bytes = readFileSync(line.path);
      assert.equal(sha256(bytes), line.sha256, line.path);
      assert.equal(path.basename(line.path).split('.')[0], line.sha256);
      assert.equal(path.dirname(line.path), (await status(id)).folder);
      const decoded = await decodeImage(bytes);
      assert.deepEqual([decoded.width, decoded.height, line.keyword], [line.width, line.height, 'zebra']);
    }
  });

  it(
    'publishes each accepted image once to crawl.images.accepted, with its lineage',
    { timeout: 120_000 },
    async () => {
      const records = await readCommitted(kafka, 'crawl.images.accepted');
      const mine: AcceptedImage[] = [];
      for (const r of records) {
        const { value } = await registry.decode<AcceptedImage>(r.value);
        if (value.dataset_id === id) mine.push(value);
      }
      assert.equal(mine.length, 10);
      assert.equal(new Set(mine.map((m) => m.id)).size, 10);
      assert.ok(
        mine.every((m) => m.source_topic === FOUND_TOPIC && m.path.startsWith(root) && /^[0-9a-f]{16}$/.test(m.dhash)),
      );
    },
  );

  it(
    'a record seen again gets the verdict it had: same counts, no self-duplicates, a lost file restored',
    { timeout: 120_000 },
    async () => {
      const before = await status(id);
      const manifest = (await (await get(`/v1/image-datasets/${id}/export`)).text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ManifestLine);
      rmSync(manifest[0]!.path); // as if the crash came between the verdict and the file
      const { rows } = await db.query<{ url: string; record_id: string; keyword: string; page_url: string }>(
        'SELECT url, record_id, keyword, page_url FROM image_dataset_candidates WHERE dataset_id = $1',
        [id],
      );
      const tenantId = (
        await db.query<{ tenant_id: string }>('SELECT tenant_id FROM image_datasets WHERE id = $1', [id])
      ).rows[0]!.tenant_id;
      const again: { value: FoundImage }[] = rows.map((r, i) => ({
        value: {
          id: r.record_id,
          tenant_id: tenantId,
          event_time: Date.now(),
          source: 'test',
          dataset_id: id,
          keyword: r.keyword,
          search_term: r.keyword,
          url: r.url,
          page_url: r.page_url,
          position: i,
        },
      }));
      await producer.send(FOUND_TOPIC, again);
      const offsets = await admin.fetchTopicOffsets(FOUND_TOPIC);
      await waitForCommitted(
        kafka,
        processorGroupOf('image-validation'),
        FOUND_TOPIC,
        offsets.reduce((s, o) => s + Number(o.high), 0),
      );
      assert.deepEqual((await status(id)).counts, before.counts);
      assert.equal(sha256(readFileSync(manifest[0]!.path)), manifest[0]!.sha256, 'the file is back');
    },
  );

  it('a resumed crawl fetches no page it finished, and only the ones it had not', { timeout: 120_000 }, async () => {
    const found = (await status(id)).counts.found;
    await db.query("UPDATE image_datasets SET crawl_state = 'crawling' WHERE id = $1", [id]);
    let requests = searchRequests();
    assert.ok((await datasets.resumeUnfinished()).includes(id));
    await datasets.idle();
    assert.equal(searchRequests() - requests, 0, 'every page was in the page log');
    assert.equal((await status(id)).state, 'done');

    // as if the crawl had stopped before logging the last page of "zebras": that page alone is fetched again
    const lastPage = `${site.url}/search/images?q=zebras&page=${Math.ceil(IMAGE_RESULTS.length / RESULTS_PAGE_SIZE)}`;
    const deleted = await db.query('DELETE FROM image_dataset_pages WHERE dataset_id = $1 AND url = $2', [
      id,
      lastPage,
    ]);
    assert.equal(deleted.rowCount, 1);
    await db.query("UPDATE image_datasets SET crawl_state = 'crawling' WHERE id = $1", [id]);
    requests = searchRequests();
    await datasets.resumeUnfinished();
    await datasets.idle();
    assert.equal(searchRequests() - requests, 1, 'the unlogged page only');
    const after = await status(id);
    assert.deepEqual([after.state, after.counts.found], ['done', found]);
  });

  it('stops at per_keyword image URLs per keyword, over all its search terms', { timeout: 120_000 }, async () => {
    const response = await create({
      name: 'few',
      keywords: ['Okapi'],
      per_keyword: 8,
      min_width: 32,
      min_height: 32,
      extras: { OKAPI: ['Forest Giraffe'] },
    });
    const created = (await response.json()) as ImageDatasetStatus;
    assert.deepEqual(created.keywords[0]!.terms, ['okapi', 'okapis', 'forest giraffe']);
    const requests = searchRequests();
    await datasets.idle();
    assert.equal(searchRequests() - requests, 2, 'two pages of "okapi" give 8; the other terms are not searched');
    const done = await eventually('the dataset to be validated', async () => {
      const s = await status(created.id);
      return s.state === 'done' ? s : undefined;
    });
    assert.equal(done.counts.found, 8);
  });

  it("404 for another tenant's dataset, on every route", async () => {
    for (const route of ['', '/events', '/export']) {
      const response = await get(`/v1/image-datasets/${id}${route}`, otherKey);
      assert.equal(response.status, 404, route);
    }
    assert.equal((await get('/v1/image-datasets/no-such-dataset')).status, 404);
  });

  it('the old /v1/datasets paths still answer, as deprecated aliases in /openapi.json', async () => {
    for (const route of ['', '/events', '/export']) {
      const [now, old] = [await get(`/v1/image-datasets/${id}${route}`), await get(`/v1/datasets/${id}${route}`)];
      assert.deepEqual(
        [old.status, old.headers.get('content-type')],
        [now.status, now.headers.get('content-type')],
        route,
      );
      if (route === '') assert.deepEqual(await old.json(), await now.json());
      else await Promise.all([old.text(), now.text()]);
    }
    assert.equal((await get('/v1/datasets/no-such-dataset')).status, 404);
    const created = await app.request('/v1/datasets', {
      method: 'POST',
      body: JSON.stringify({ name: 'x', keywords: [] }),
      headers: { ...auth(key), 'content-type': 'application/json' },
    });
    assert.equal(created.status, 400);
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { deprecated?: boolean }>>;
    };
    assert.equal(doc.paths['/v1/datasets']?.post?.deprecated, true);
    assert.equal(doc.paths['/v1/datasets/{id}/export']?.get?.deprecated, true);
    assert.equal(doc.paths['/v1/image-datasets']?.post?.deprecated, undefined);
  });

  it(
    'a processor killed (SIGKILL) mid-dataset and started again: exact counts, every file, each accepted image published once',
    { timeout: 240_000 },
    async () => {
      await processor.stop(); // the command-line processor alone from here
      const env = { CRAWL_DATASETS_DIR: root, CRAWL_RATE_PER_HOST: '40', LOG_LEVEL: 'info' };
      const first = new MillraceProcess(['processor', 'image-validation'], env);
      let crashId: string;
      try {
        await first.waitForLog('the first processor to join', (l) => l.msg === 'partitions assigned');
        const response = await create({
          name: 'crash',
          keywords: Array.from({ length: 8 }, (_, i) => `crash${suffix}k${i}`),
          per_keyword: 100,
          min_width: 32,
          min_height: 32,
        });
        crashId = ((await response.json()) as ImageDatasetStatus).id;
        await eventually(
          'some verdicts',
          async () => ((await status(crashId)).counts.validated >= 30 ? true : undefined),
          120_000,
        );
      } finally {
        await first.kill('SIGKILL'); // also when the test fails before: a processor left running would judge the next run's images
      }
      const killedAt = (await status(crashId)).counts.validated;
      assert.ok(killedAt < 192, `killed mid-dataset (${killedAt} of 192 judged)`);
      const second = new MillraceProcess(['processor', 'image-validation'], env);
      try {
        const done = await eventually(
          'the dataset to be validated after the restart',
          async () => {
            const s = await status(crashId);
            return s.state === 'done' ? s : undefined;
          },
          180_000,
        );
        // 16 search terms of 12 results; every format allowed: 6 accepted, 4 rejected and 2 duplicates a term
        assert.deepEqual(done.counts, {
          found: 192,
          validated: 192,
          downloaded: 176,
          accepted: 96,
          rejected: { total: 64, by_reason: { corrupt: 16, download_failed: 16, too_small: 16, unknown_format: 16 } },
          duplicates: { total: 32, exact: 16, near: 16 },
        });
        const lines = (await (await get(`/v1/image-datasets/${crashId}/export`)).text())
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as ManifestLine);
        assert.equal(lines.length, 96);
        for (const line of lines) assert.equal(sha256(readFileSync(line.path)), line.sha256, line.path);
        await waitForCommitted(kafka, processorGroupOf('image-validation'), FOUND_TOPIC, 0);
        const published: string[] = [];
        for (const r of await readCommitted(kafka, 'crawl.images.accepted')) {
          const { value } = await registry.decode<AcceptedImage>(r.value);
          if (value.dataset_id === crashId) published.push(value.url);
        }
        assert.deepEqual(
          published.sort(),
          lines.map((l) => l.source_url).sort(),
          'each accepted image once, under read_committed',
        );
      } finally {
        await second.kill('SIGTERM');
      }
    },
  );
});
