/**
 * Image datasets end to end against the real services: the API creates a dataset and crawls the
 * fixture site's image search engine, the image-validation processor (the real runtime) judges
 * every image, and the counts, files, manifest, progress stream, redelivery and resumption are
 * checked against what the fixture says each image is.
 */
import './allow-local-crawl.ts';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { App } from '../../api/app.ts';
import { loadConfig } from '../../core/config.ts';
import { composeApi } from '../../api/compose.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { FetchLog } from '../../domain/crawl/fetch-log.ts';
import { Fetcher } from '../../domain/crawl/fetcher.ts';
import { IMAGE_RESULTS, licenceOfResult, RESULTS_PAGE_SIZE } from '../../connectors/sources/fixture-site/images.ts';
import { startFixtureSite, type FixtureSite } from '../../connectors/sources/fixture-site/server.ts';
import { FOUND_TOPIC } from '../../connectors/sources/image-search/crawl-job.ts';
import {
  ImageDatasets,
  type ArchiveLine,
  type ImageDatasetStatus,
  type ManifestLine,
} from '../../connectors/sources/image-search/image-datasets.ts';
import { SPLITS, splitCounts } from '../../domain/images/dataset-split.ts';
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
let tenantId: string;

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
/** Where the processor wrote a manifest line's image (answers never say). */
const fileOf = (datasetId: string, line: ManifestLine) => path.join(root, tenantId, datasetId, line.file);

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
  tenantId = tenant.id;
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
      const bytes = readFileSync(fileOf(id, line));
      assert.equal(sha256(bytes), line.sha256, line.file);
      assert.equal(line.file.split('.')[0], line.sha256);
      assert.equal(line.bytes, bytes.length);
      const decoded = await decodeImage(bytes);
      assert.deepEqual([decoded.width, decoded.height, line.keyword], [line.width, line.height, 'zebra']);
      // the licence hint its results page gave: the result's own link, else the page's <meta name="license">
      const [, term, n] = /\/images\/([^/]+)\/(\d+)$/.exec(line.source_url)!;
      const page = Math.floor(Number(n) / RESULTS_PAGE_SIZE) + 1;
      assert.equal(line.licence, licenceOfResult(Number(n)), line.source_url);
      assert.equal(line.page_url, `${site.url}/search/images?q=${term}${page > 1 ? `&page=${page}` : ''}`);
    }
    assert.ok(lines.some((l) => l.licence === null) && lines.some((l) => l.licence !== null));
  });

  it('downloads the dataset as a tar or zip: manifest first, images under <split>/<keyword>/, a split fixed by its seed', async () => {
    const exported = (await (await get(`/v1/image-datasets/${id}/export`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ManifestLine);
    const bySha = new Map(exported.map((l) => [l.sha256, l]));
    const unpacked: Record<string, ArchiveLine[]> = {};
    for (const format of ['tar', 'zip'] as const) {
      const response = await get(`/v1/image-datasets/${id}/archive?format=${format}&seed=7&split=0.6,0.2,0.2`);
      assert.equal(response.status, 200, format);
      assert.equal(response.headers.get('content-type'), format === 'tar' ? 'application/x-tar' : 'application/zip');
      assert.match(response.headers.get('content-disposition') ?? '', new RegExp(`${id}\\.${format}`));
      const file = path.join(root, `archive-${suffix}.${format}`);
      writeFileSync(file, Buffer.from(await response.arrayBuffer()));
      const names =
        format === 'tar'
          ? execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n')
          : execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).trim().split('\n');
      const read = (name: string) =>
        format === 'tar' ? execFileSync('tar', ['-xOf', file, name]) : execFileSync('unzip', ['-p', file, name]);
      assert.equal(names[0], 'manifest.jsonl', 'the manifest first');
      const lines = read('manifest.jsonl')
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ArchiveLine);
      assert.deepEqual(
        names.slice(1),
        lines.map((l) => l.path),
      );
      assert.equal(lines.length, 10);
      for (const line of lines) {
        const { file: name, ...own } = bySha.get(line.sha256)!;
        assert.deepEqual({ ...line, path: undefined, split: undefined }, { ...own, path: undefined, split: undefined });
        assert.equal(line.path, `${line.split}/zebra/${name}`);
        assert.equal(sha256(read(line.path)), line.sha256, `${format} ${line.path}: the image's bytes`);
      }
      const counts = SPLITS.map((split) => lines.filter((l) => l.split === split).length);
      assert.deepEqual(counts, splitCounts(10, [0.6, 0.2, 0.2]), `${format}: 6, 2 and 2 of the 10 zebras`);
      unpacked[format] = lines;
    }
    assert.deepEqual(unpacked.zip, unpacked.tar, 'one seed, one split, whatever the format');
    const manifestOf = async (query: string) => {
      const file = path.join(root, `archive-${suffix}-again.tar`);
      writeFileSync(file, Buffer.from(await (await get(`/v1/image-datasets/${id}/archive?${query}`)).arrayBuffer()));
      return execFileSync('tar', ['-xOf', file, 'manifest.jsonl'], { encoding: 'utf8' });
    };
    const again = await manifestOf('seed=7&split=0.6,0.2,0.2');
    assert.equal(again, unpacked.tar!.map((l) => `${JSON.stringify(l)}\n`).join(''), 'the same seed: the same archive');
    const other = (await manifestOf('seed=8&split=0.6,0.2,0.2'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ArchiveLine);
    assert.ok(
      other.some((l) => unpacked.tar!.find((t) => t.sha256 === l.sha256)!.split !== l.split),
      'another seed: another split',
    );
    const defaults = (await manifestOf(''))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ArchiveLine);
    assert.deepEqual(
      SPLITS.map((split) => defaults.filter((l) => l.split === split).length),
      [8, 1, 1],
      'by default 0.8, 0.1, 0.1',
    );
  });

  it('refuses a bad archive query with a 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['format=rar', 'format'],
      ['seed=-1', 'seed'],
      ['seed=1.5', 'seed'],
      ['split=0.5,0.5,0.5', 'split'],
      ['split=0.8,0.2', 'split'],
      ['split=a,b,c', 'split'],
    ];
    for (const [query, field] of cases) {
      const response = await get(`/v1/image-datasets/${id}/archive?${query}`);
      const error = (await response.json()) as { field?: string; message: string };
      assert.deepEqual([response.status, error.field], [400, field], `${query}: ${error.message}`);
    }
  });

  it('serves thumbnails: WebP within the size, never enlarged, made once, with an ETag and immutable caching', async () => {
    const [line] = (await (await get(`/v1/image-datasets/${id}/export`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ManifestLine);
    const url = `/v1/image-datasets/${id}/images/${line!.sha256}/thumbnail`;
    const small = await get(`${url}?size=64`);
    assert.equal(small.status, 200);
    assert.equal(small.headers.get('content-type'), 'image/webp');
    assert.match(small.headers.get('cache-control') ?? '', /immutable/);
    const meta = await sharp(Buffer.from(await small.arrayBuffer())).metadata();
    assert.equal(meta.format, 'webp');
    assert.equal(Math.max(meta.width, meta.height), 64);
    const ratio = line!.width / line!.height;
    assert.ok(Math.abs(meta.width / meta.height - ratio) < 0.1, 'the aspect kept');
    assert.ok(existsSync(path.join(root, tenantId, id, 'thumbnails', '64', `${line!.sha256}.webp`)), 'kept on disk');
    const large = await get(`${url}?size=512`);
    const big = await sharp(Buffer.from(await large.arrayBuffer())).metadata();
    assert.deepEqual([big.width, big.height], [line!.width, line!.height], 'never enlarged');
    const etag = small.headers.get('etag')!;
    assert.notEqual(etag, large.headers.get('etag'));
    const cached = await app.request(`${url}?size=64`, { headers: { ...auth(key), 'if-none-match': etag } });
    assert.equal(cached.status, 304);
    assert.equal(await cached.text(), '');
    const defaultSize = await get(url);
    assert.equal(defaultSize.headers.get('etag'), `"${line!.sha256}-128w"`);
    await defaultSize.arrayBuffer();
    const bad = await get(`${url}?size=100`);
    assert.deepEqual([bad.status, ((await bad.json()) as { field: string }).field], [400, 'size']);
    assert.equal((await get(`/v1/image-datasets/${id}/images/${'0'.repeat(64)}/thumbnail`)).status, 404);
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
      rmSync(fileOf(id, manifest[0]!)); // as if the crash came between the verdict and the file
      const lost = await get(`/v1/image-datasets/${id}/images/${manifest[0]!.sha256}`);
      assert.equal(lost.status, 404, 'no file yet: a 404, not a cut answer');
      assert.match(((await lost.json()) as { message: string }).message, /not stored yet/);
      const archived = path.join(root, `lost-${suffix}.tar`);
      writeFileSync(archived, Buffer.from(await (await get(`/v1/image-datasets/${id}/archive`)).arrayBuffer()));
      const listed = execFileSync('tar', ['-tf', archived], { encoding: 'utf8' }).trim().split('\n');
      assert.equal(listed.length, 1 + manifest.length - 1, 'the archive leaves the missing file out');
      assert.ok(!listed.some((name) => name.includes(manifest[0]!.sha256)));
      const { rows } = await db.query<{ url: string; record_id: string; keyword: string; page_url: string }>(
        'SELECT url, record_id, keyword, page_url FROM image_dataset_candidates WHERE dataset_id = $1',
        [id],
      );
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
      assert.equal(sha256(readFileSync(fileOf(id, manifest[0]!))), manifest[0]!.sha256, 'the file is back');
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

  it(
    'pauses a crawl (kept paused across a restart), resumes it where it stopped, and cancels another; 409 naming the state',
    { timeout: 120_000 },
    async () => {
      const control = (datasetId: string, action: string) =>
        app.request(`/v1/image-datasets/${datasetId}/${action}`, { method: 'POST', headers: auth(key) });
      const body = {
        name: 'pausable',
        keywords: Array.from({ length: 6 }, (_, i) => `pause${suffix}k${i}`),
        per_keyword: 100,
        min_width: 32,
        min_height: 32,
      };
      const pages = body.keywords.length * 2 * Math.ceil(IMAGE_RESULTS.length / RESULTS_PAGE_SIZE);
      const from = searchRequests();
      const created = (await (await create(body)).json()) as ImageDatasetStatus;
      const paused = await control(created.id, 'pause');
      assert.equal(paused.status, 200);
      assert.equal(((await paused.json()) as ImageDatasetStatus).state, 'paused');
      await datasets.idle(); // the crawl stops before its next page
      const fetched = searchRequests() - from;
      assert.ok(fetched < pages, `stopped after ${fetched} of ${pages} pages`);
      assert.ok(!(await datasets.resumeUnfinished()).includes(created.id), 'a restart keeps it paused');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(searchRequests() - from, fetched, 'nothing fetched while paused');
      assert.equal((await status(created.id)).state, 'paused');

      const again = await control(created.id, 'pause');
      const refusal = (await again.json()) as { error: string; message: string };
      assert.deepEqual([again.status, refusal.error], [409, 'conflict']);
      assert.match(refusal.message, /it is paused/);

      const resumed = await control(created.id, 'resume');
      assert.equal(((await resumed.json()) as ImageDatasetStatus).state, 'crawling');
      await datasets.idle();
      assert.equal(searchRequests() - from, pages, 'every page once: the paused crawl went on where it stopped');
      const done = await eventually(
        'the resumed dataset to be validated',
        async () => {
          const s = await status(created.id);
          return s.state === 'done' ? s : undefined;
        },
        60_000,
      );
      assert.equal(done.counts.found, pages * RESULTS_PAGE_SIZE);

      const other = (await (await create({ ...body, name: 'cancelled' })).json()) as ImageDatasetStatus;
      const cancelled = await control(other.id, 'cancel');
      assert.equal(((await cancelled.json()) as ImageDatasetStatus).state, 'cancelled');
      await datasets.idle();
      for (const action of ['resume', 'pause', 'cancel']) {
        const response = await control(other.id, action);
        const error = (await response.json()) as { message: string };
        assert.equal(response.status, 409, action);
        assert.match(error.message, new RegExp(`cannot ${action} .* it is cancelled`));
      }
      for (const action of ['pause', 'resume', 'cancel']) {
        const response = await control(done.id, action);
        assert.equal(response.status, 409, `${action} a finished crawl`);
        assert.match(((await response.json()) as { message: string }).message, /it is done/);
      }
      const stream = await events(other.id);
      assert.equal(stream.at(-1)!.event, 'cancelled', 'the progress stream ends on a cancelled crawl');
    },
  );

  it('answers 409 for the archive of a dataset with no accepted image', { timeout: 60_000 }, async () => {
    const created = (await (
      await create({ name: 'empty', keywords: [`empty${suffix}`], per_keyword: 6, min_width: 100_000, min_height: 1 })
    ).json()) as ImageDatasetStatus;
    await datasets.idle();
    await eventually('every image judged (too small)', async () =>
      (await status(created.id)).state === 'done' ? true : undefined,
    );
    const response = await get(`/v1/image-datasets/${created.id}/archive`);
    const error = (await response.json()) as { error: string; message: string };
    assert.deepEqual([response.status, error.error], [409, 'conflict']);
    assert.match(error.message, /no accepted images to archive \(it is done\)/);
  });

  it('shows no path on the server in any answer of the image-dataset routes', async () => {
    const secrets = [root, loadConfig().MILLRACE_HOME, '/tmp/'];
    const [line] = (await (await get(`/v1/image-datasets/${id}/export`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ManifestLine);
    const image = `/v1/image-datasets/${id}/images/${line!.sha256}`;
    const requests: [string, string][] = [
      ['GET', `/v1/image-datasets/${id}`],
      ['GET', `/v1/datasets/${id}`],
      ['GET', `/v1/image-datasets/${id}/events`],
      ['GET', `/v1/image-datasets/${id}/export`],
      ['GET', `/v1/image-datasets/${id}/archive`],
      ['GET', `/v1/image-datasets/${id}/archive?format=zip`],
      ['GET', image],
      ['GET', `${image}/thumbnail`],
      ['GET', `/v1/image-datasets/${id}/images/${'1'.repeat(64)}`],
      ['GET', `/v1/image-datasets/${id}/images/${'1'.repeat(64)}/thumbnail`],
      ['GET', `/v1/image-datasets/no-such-dataset/archive`],
      ['POST', `/v1/image-datasets/${id}/pause`],
      ['POST', `/v1/image-datasets/${id}/resume`],
      ['POST', `/v1/image-datasets/${id}/cancel`],
      ['GET', '/openapi.json'],
    ];
    for (const [method, url] of requests) {
      const response = await app.request(url, { method, headers: auth(key) });
      const text = Buffer.from(await response.arrayBuffer()).toString('latin1');
      const headers = JSON.stringify([...response.headers]);
      for (const secret of secrets)
        assert.ok(
          !text.includes(secret) && !headers.includes(secret),
          `${method} ${url} (${response.status}) shows ${secret}`,
        );
    }
    const created = await create({ name: 'paths', keywords: [`paths${suffix}`], per_keyword: 1 });
    const text = await created.text();
    for (const secret of secrets) assert.ok(!text.includes(secret), `POST /v1/image-datasets shows ${secret}`);
    await datasets.idle();
  });

  it("404 for another tenant's dataset, on every route", async () => {
    const sha = '0'.repeat(64);
    for (const route of ['', '/events', '/export', '/archive', `/images/${sha}`, `/images/${sha}/thumbnail`]) {
      const response = await get(`/v1/image-datasets/${id}${route}`, otherKey);
      assert.equal(response.status, 404, route);
    }
    for (const action of ['pause', 'resume', 'cancel']) {
      const response = await app.request(`/v1/image-datasets/${id}/${action}`, {
        method: 'POST',
        headers: auth(otherKey),
      });
      assert.equal(response.status, 404, action);
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
        for (const line of lines) assert.equal(sha256(readFileSync(fileOf(crashId, line))), line.sha256, line.file);
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
