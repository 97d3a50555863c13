/**
 * Lifecycles (issue 22, item 2) against the real services: each resource is created, listed over
 * two keyset pages, refused while in use (409 naming the holder), hidden from another tenant (404
 * in the words of an unknown id) and deleted (204, then 404), with its files gone from disk, its
 * Postgres rows gone and its ClickHouse rows gone. A running crawl and a running bulk job are
 * cancelled; a symbol taken off the watch list is no longer fetched by the real retriever's schedule.
 */
import './allow-local-crawl.ts';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../api/app.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { composeApi } from '../../api/compose.ts';
import { AMOUNTS } from '../../connectors/sources/finance-bulk/statements.ts';
import { startFixtureSite, type FixtureSite } from '../../connectors/sources/fixture-site/server.ts';
import { ImageDatasets, type ImageDatasetStatus } from '../../connectors/sources/image-search/image-datasets.ts';
import { MarketRetriever } from '../../connectors/sources/market-retriever/retriever.ts';
import { scheduleRetriever } from '../../connectors/sources/market-retriever/schedule.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { FetchLog } from '../../domain/crawl/fetch-log.ts';
import { Fetcher } from '../../domain/crawl/fetcher.ts';
import { DatasetImageStore } from '../../domain/images/image-store.ts';
import { imageValidation } from '../../processors/images/index.ts';
import { runProcessor, type RunningProcessor } from '../../processors/runtime/index.ts';
import { eventually, vegaDataFile } from '../../testkit/helpers.ts';

const config = loadConfig();
const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(8);
const clickhouse = createClickHouse();
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const log = createLogger('test');
const root = mkdtempSync(path.join(tmpdir(), 'millrace-lifecycles-'));
const suffix = randomBytes(3).toString('hex');
const tenant = `life-${suffix}`;
const other = `life-other-${suffix}`;
const keys: Record<string, string> = {};
let app: App;
let site: FixtureSite;
let datasets: ImageDatasets;
let processor: RunningProcessor;

const call = (url: string, key: string, init: RequestInit = {}) =>
  app.request(url, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
  });
const json = async <T>(response: Response | Promise<Response>, status = 200): Promise<T> => {
  const r = await response;
  assert.equal(r.status, status, await r.clone().text());
  return (await r.json()) as T;
};
const chCount = async (query: string) =>
  Number((await (await clickhouse.query({ query, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);
const pgCount = async (sql: string, params: unknown[]) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;

/** Both pages of a list of three or more, two at a time: ids newest first, and the second page's cursor worked. */
async function twoPages(url: string, field: string, id: string, key = keys.admin!): Promise<string[]> {
  const first = await json<Record<string, unknown>>(call(`${url}?limit=2`, key));
  const next = first.next_cursor as string;
  assert.ok(next, `${url}: a next_cursor after a full page`);
  const second = await json<Record<string, unknown>>(call(`${url}?limit=2&cursor=${encodeURIComponent(next)}`, key));
  const ids = [...(first[field] as Record<string, string>[]), ...(second[field] as Record<string, string>[])].map(
    (item) => item[id]!,
  );
  assert.equal(new Set(ids).size, ids.length, `${url}: no item on both pages`);
  return ids;
}

/**
 * The tenant's item `id` under `base` (with `tail`, say /cancel), asked for by another tenant: a
 * 404 in the same words as an id no one has (`unknown`), but for the id.
 */
async function hiddenFromOthers(base: string, id: string, unknown: string, method = 'DELETE', tail = '') {
  const theirs = await call(`${base}/${id}${tail}`, keys.other!, { method });
  const none = await call(`${base}/${unknown}${tail}`, keys.other!, { method });
  assert.deepEqual([theirs.status, none.status], [404, 404]);
  const [a, b] = (await Promise.all([theirs.json(), none.json()])) as { message: string; error: string }[];
  assert.deepEqual([a!.error, a!.message.replaceAll(id, 'ID')], [b!.error, b!.message.replaceAll(unknown, 'ID')]);
}

before(async () => {
  await Promise.all([producer.connect(), admin.connect()]);
  site = await startFixtureSite();
  await createTenant(db, tenant);
  await createTenant(db, other);
  keys.admin = (await createKey(db, tenant, 'admin')).key;
  keys.other = (await createKey(db, other, 'admin')).key;
  datasets = new ImageDatasets({
    db,
    producer,
    clickhouse,
    log,
    searchEndpoints: [`${site.url}/search/images?q={q}`],
    root,
    // two search pages a second: a crawl of many keywords runs long enough to be cancelled
    fetcher: { ratePerSecondPerHost: 2, concurrencyPerHost: 1, backoffMs: 20 },
  });
  app = composeApi(
    config,
    { kafka, registry, producer, admin, db, clickhouse },
    { log, uploads: new Uploads(db, root, producer, log), imageDatasets: datasets },
  ).app;
  const fetchLog = new FetchLog(clickhouse);
  const fetcher = new Fetcher({
    crawl: 'test-lifecycles',
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
  await datasets?.idle();
  await site?.close();
  await Promise.all([producer.disconnect(), admin.disconnect(), clickhouse.close()]);
  await db.end();
  rmSync(root, { recursive: true, force: true });
});

describe('/openapi.json', () => {
  it('documents each list with limit and cursor, each delete and each cancel', async () => {
    const doc = await json<{ paths: Record<string, Record<string, { parameters?: { name: string }[] }>> }>(
      app.request('/openapi.json'),
    );
    for (const list of ['uploads', 'taxonomies', 'image-datasets', 'training-files', 'training-datasets', 'stocks'])
      assert.deepEqual(
        doc.paths[`/v1/${list}`]?.get?.parameters?.map((p) => p.name),
        ['limit', 'cursor'],
        list,
      );
    for (const item of [
      '/v1/uploads/{id}',
      '/v1/taxonomies/{id}',
      '/v1/image-datasets/{id}',
      '/v1/training-files/{id}',
      '/v1/training-datasets/{name}',
      '/v1/stocks/{symbol}',
    ])
      assert.ok(doc.paths[item]?.delete, item);
    for (const cancel of ['/v1/image-datasets/{id}/cancel', '/v1/jobs/{id}/cancel'])
      assert.ok(doc.paths[cancel]?.post, cancel);
  });
});

describe('uploads and taxonomies', () => {
  const csv = (n: number) => `name,price\n${Array.from({ length: n }, (_, i) => `item ${i},${i}.5`).join('\n')}\n`;
  const upload = async () =>
    (
      await json<{ id: string }>(
        call('/v1/uploads?filename=items.csv', keys.admin!, {
          method: 'POST',
          body: csv(5),
          headers: { 'content-type': 'text/csv' },
        }),
        201,
      )
    ).id;

  it('lists uploads newest first over pages; deletes one with its file, rows and classified rows', async () => {
    const ids = [await upload(), await upload(), await upload()];
    const listed = await twoPages('/v1/uploads', 'uploads', 'id');
    assert.deepEqual(listed.slice(0, 3), [...ids].reverse());

    const [id] = ids as [string];
    // rows as the catalog sink lands them, and a rejection as processing records it
    await clickhouse.insert({
      table: 'catalog_rows',
      values: [1, 2].map((n) => ({
        id: `${id}:${n}`,
        tenant_id: tenant,
        upload_id: id,
        row_number: n,
        taxonomy: '',
        genre: 'g',
        confidence: 1,
        decided_by: 'test',
        model_id: '',
        model_version: '',
        attributes: '{}',
        fields: '{}',
        event_time: new Date().toISOString().slice(0, 19).replace('T', ' '),
        _topic: 'test',
        _partition: 0,
        _offset: n,
      })),
      format: 'JSONEachRow',
    });
    await db.query("INSERT INTO upload_rejections (upload_id, row_number, reason) VALUES ($1, 9, 'test')", [id]);
    const catalogRows = `SELECT count() AS n FROM catalog_rows WHERE tenant_id = ${quoteString(tenant)} AND upload_id = ${quoteString(id)}`;
    assert.equal(await chCount(catalogRows), 2);
    assert.ok(existsSync(path.join(root, id, 'original')));

    await hiddenFromOthers('/v1/uploads', id, randomUUID());
    assert.equal((await call(`/v1/uploads/${id}`, keys.admin!, { method: 'DELETE' })).status, 204);
    assert.ok(!existsSync(path.join(root, id)), 'the stored file is removed');
    assert.equal(await pgCount('uploads WHERE id = $1', [id]), 0);
    assert.equal(await pgCount('upload_rejections WHERE upload_id = $1', [id]), 0);
    await eventually('the classified rows to be deleted', async () =>
      (await chCount(catalogRows)) === 0 ? true : undefined,
    );
    assert.equal((await call(`/v1/uploads/${id}`, keys.admin!, { method: 'DELETE' })).status, 404);
    assert.equal((await call(`/v1/uploads/${id}`, keys.admin!)).status, 404);
  });

  it('lists taxonomies; refuses to delete one an upload being processed uses, and that upload, naming them', async () => {
    const put = (id: string) =>
      json(
        call(`/v1/taxonomies/${id}`, keys.admin!, {
          method: 'PUT',
          body: JSON.stringify({ genres: ['a', 'b'], attributes: {}, references: [{ text: 'x', genre: 'a' }] }),
        }),
        201,
      );
    for (const id of ['t1', 't2', 't3']) await put(id);
    await put('t1'); // a second version: t1 is now the most recently saved
    const listed = await twoPages('/v1/taxonomies', 'taxonomies', 'id');
    assert.deepEqual(listed, ['t1', 't3', 't2']);

    const id = await upload();
    // an upload processing with t2@1: as process() records it, held in that state for the test
    await db.query("UPDATE uploads SET state = 'processing', taxonomy = 't2@1' WHERE id = $1", [id]);
    const taxonomyHeld = await call('/v1/taxonomies/t2', keys.admin!, { method: 'DELETE' });
    assert.equal(taxonomyHeld.status, 409);
    assert.match(((await taxonomyHeld.json()) as { message: string }).message, new RegExp(`upload ${id}`));
    const uploadHeld = await call(`/v1/uploads/${id}`, keys.admin!, { method: 'DELETE' });
    assert.equal(uploadHeld.status, 409);
    assert.match(((await uploadHeld.json()) as { message: string }).message, /being processed/);
    await db.query("UPDATE uploads SET state = 'processed' WHERE id = $1", [id]);

    assert.equal((await call('/v1/taxonomies/t2', keys.other!, { method: 'DELETE' })).status, 404);
    assert.equal((await call('/v1/taxonomies/t2', keys.admin!, { method: 'DELETE' })).status, 204);
    assert.equal(await pgCount('catalog_taxonomies WHERE tenant_id = $1 AND id = $2', [tenant, 't2']), 0);
    assert.equal(await pgCount('catalog_references WHERE tenant_id = $1 AND taxonomy_id = $2', [tenant, 't2']), 0);
    assert.equal((await call('/v1/taxonomies/t2', keys.admin!, { method: 'DELETE' })).status, 404);
    assert.equal((await call(`/v1/uploads/${id}`, keys.admin!, { method: 'DELETE' })).status, 204);
  });
});

describe('training files and datasets', () => {
  const cars = JSON.parse(readFileSync(vegaDataFile('cars.json'), 'utf8')) as Record<string, unknown>[];
  const filesDir = path.join(config.MILLRACE_HOME, 'training-files');
  const sendFile = async (rows: Record<string, unknown>[]) =>
    (
      await json<{ id: string }>(
        call('/v1/training-files?filename=cars.jsonl', keys.admin!, {
          method: 'POST',
          body: rows.map((c) => JSON.stringify(c)).join('\n'),
          headers: { 'content-type': 'application/x-ndjson' },
        }),
        201,
      )
    ).id;
  const trainingRows = (name: string) =>
    `SELECT count() AS n FROM training_rows WHERE tenant_id = ${quoteString(tenant)} AND dataset = ${quoteString(name)}`;

  it('lists training files over pages and deletes one with its file', async () => {
    const ids = [await sendFile(cars.slice(0, 50)), await sendFile(cars.slice(50, 100)), await sendFile(cars)];
    const listed = await twoPages('/v1/training-files', 'files', 'id');
    assert.deepEqual(listed.slice(0, 3), [...ids].reverse());
    const [id] = ids as [string];
    assert.ok(existsSync(path.join(filesDir, id, 'original')));
    await hiddenFromOthers('/v1/training-files', id, randomUUID());
    assert.equal((await call(`/v1/training-files/${id}`, keys.admin!, { method: 'DELETE' })).status, 204);
    assert.ok(!existsSync(path.join(filesDir, id)), 'the file is removed');
    assert.equal(await pgCount('training_files WHERE id = $1', [id]), 0);
    assert.equal((await call(`/v1/training-files/${id}`, keys.admin!, { method: 'DELETE' })).status, 404);
  });

  it('lists datasets; a queued job holds one (409) until cancelled; deleting removes its versions and training_rows', async () => {
    const file = await sendFile(cars);
    const define = (name: string) =>
      json(
        call('/v1/training-datasets', keys.admin!, {
          method: 'POST',
          body: JSON.stringify({
            name,
            source: { file },
            target: 'Miles_per_Gallon',
            features: ['Cylinders', 'Horsepower', 'Weight_in_lbs'],
          }),
        }),
        201,
      );
    for (const name of ['cars-a', 'cars-b', 'cars-c']) await define(name);
    assert.deepEqual(await twoPages('/v1/training-datasets', 'datasets', 'name'), ['cars-c', 'cars-b', 'cars-a']);
    assert.ok((await chCount(trainingRows('cars-a'))) > 300);

    const job = await json<{ id: string }>(
      call('/v1/training-jobs', keys.admin!, {
        method: 'POST',
        body: JSON.stringify({ dataset: 'cars-a', algorithm: 'mlp' }),
      }),
      202,
    );
    const held = await call('/v1/training-datasets/cars-a', keys.admin!, { method: 'DELETE' });
    assert.equal(held.status, 409);
    assert.match(((await held.json()) as { message: string }).message, new RegExp(`training job ${job.id}`));
    assert.equal((await call(`/v1/training-jobs/${job.id}/cancel`, keys.admin!, { method: 'POST' })).status, 200);

    assert.equal((await call('/v1/training-datasets/cars-a', keys.other!, { method: 'DELETE' })).status, 404);
    assert.equal((await call('/v1/training-datasets/cars-a', keys.admin!, { method: 'DELETE' })).status, 204);
    assert.equal(await pgCount('training_datasets WHERE tenant_id = $1 AND name = $2', [tenant, 'cars-a']), 0);
    assert.equal(await pgCount('training_jobs WHERE id = $1', [job.id]), 0);
    await eventually('the rows to be deleted', async () =>
      (await chCount(trainingRows('cars-a'))) === 0 ? true : undefined,
    );
    assert.ok((await chCount(trainingRows('cars-b'))) > 300, "another dataset's rows stay");
    assert.equal((await call('/v1/training-datasets/cars-a', keys.admin!, { method: 'DELETE' })).status, 404);
  });
});

describe('image datasets', () => {
  it(
    'cancels a running crawl: no more search pages; the images found are judged and served until deleted',
    { timeout: 180_000 },
    async () => {
      const create = (name: string, keywords: string[]) =>
        json<ImageDatasetStatus>(
          call('/v1/image-datasets', keys.admin!, {
            method: 'POST',
            body: JSON.stringify({ name, keywords, per_keyword: 12, formats: ['png', 'jpeg', 'webp'] }),
          }),
          201,
        );
      const status = (id: string) => json<ImageDatasetStatus>(call(`/v1/image-datasets/${id}`, keys.admin!));
      const searches = () => site.requests.filter((r) => r.path.startsWith('/search/images')).length;
      const created = await create(
        'many',
        Array.from({ length: 12 }, (_, i) => `animal ${i}`),
      );
      const { id } = created;
      await eventually('a first page of images', async () => ((await status(id)).counts.found > 0 ? true : undefined));
      const cancelled = await json<ImageDatasetStatus>(
        call(`/v1/image-datasets/${id}/cancel`, keys.admin!, { method: 'POST' }),
      );
      assert.equal(cancelled.state, 'cancelled');
      await datasets.idle();
      const after = searches();
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(searches(), after, 'no search page after the cancel');
      assert.ok(after < 12 * 2, `the crawl stopped early: ${after} of 24 search pages`);
      assert.equal((await call(`/v1/image-datasets/${id}/cancel`, keys.admin!, { method: 'POST' })).status, 409);

      const judged = await eventually(
        'every image found to be judged',
        async () => {
          const s = await status(id);
          return s.counts.validated >= s.counts.found ? s : undefined;
        },
        120_000,
      );
      assert.equal(judged.state, 'cancelled');
      assert.ok(judged.counts.accepted > 0);
      const manifest = (await (await call(`/v1/image-datasets/${id}/export`, keys.admin!)).text()).trim().split('\n');
      const first = JSON.parse(manifest[0]!) as { sha256: string };
      assert.equal((await call(`/v1/image-datasets/${id}/images/${first.sha256}`, keys.admin!)).status, 200);

      // two more, for the pages; the last one crawls a dozen pages, at two a second
      const b = await create('b', ['zebra']);
      const running = await create(
        'c',
        Array.from({ length: 12 }, (_, i) => `bird ${i}`),
      );
      assert.deepEqual((await twoPages('/v1/image-datasets', 'datasets', 'id')).slice(0, 3), [running.id, b.id, id]);
      const crawling = await call(`/v1/image-datasets/${running.id}`, keys.admin!, { method: 'DELETE' });
      assert.equal(crawling.status, 409);
      assert.match(((await crawling.json()) as { message: string }).message, /crawling: cancel it first/);
      assert.equal(
        (await call(`/v1/image-datasets/${running.id}/cancel`, keys.admin!, { method: 'POST' })).status,
        200,
      );

      await hiddenFromOthers('/v1/image-datasets', id, randomUUID());
      await hiddenFromOthers('/v1/image-datasets', id, randomUUID(), 'POST', '/cancel');
      const folder = path.join(root, tenant, id); // the datasets root holds <tenant>/<dataset>/
      assert.ok(existsSync(folder));
      const fetchLog = `SELECT count() AS n FROM fetch_log WHERE crawl = ${quoteString(id)}`;
      assert.ok((await chCount(fetchLog)) > 0);
      assert.equal((await call(`/v1/image-datasets/${id}`, keys.admin!, { method: 'DELETE' })).status, 204);
      assert.ok(!existsSync(folder), 'the images folder is removed');
      for (const table of ['image_dataset_items', 'image_dataset_candidates', 'image_dataset_pages'])
        assert.equal(await pgCount(`${table} WHERE dataset_id = $1`, [id]), 0, table);
      assert.equal(await pgCount('image_datasets WHERE id = $1', [id]), 0);
      await eventually('the fetch log to be deleted', async () => ((await chCount(fetchLog)) === 0 ? true : undefined));
      assert.equal((await call(`/v1/image-datasets/${id}`, keys.admin!, { method: 'DELETE' })).status, 404);
      await datasets.idle();
    },
  );
});

describe('finance bulk jobs', () => {
  it('cancels a job still publishing: the rows not yet sent are never sent', { timeout: 180_000 }, async () => {
    const rows = 40_000;
    const lines = ['company_id,period,period_end,' + AMOUNTS.join(',')];
    for (let n = 0; n < rows; n++)
      lines.push([`c-${n}`, 'annual', '2023-12-31', ...AMOUNTS.map(() => '1000')].join(','));
    const job = await json<{ id: string }>(
      call('/v1/predictions/bulk', keys.admin!, {
        method: 'POST',
        body: lines.join('\n'),
        headers: { 'content-type': 'text/csv' },
      }),
      202,
    );
    const get = () =>
      json<{ state: string; accepted: number; rows_read: number }>(call(`/v1/jobs/${job.id}`, keys.admin!));
    await eventually('a first batch sent', async () => ((await get()).accepted > 0 ? true : undefined));
    await hiddenFromOthers('/v1/jobs', job.id, randomUUID(), 'POST', '/cancel');
    const cancelled = await json<{ state: string }>(call(`/v1/jobs/${job.id}/cancel`, keys.admin!, { method: 'POST' }));
    assert.equal(cancelled.state, 'cancelled');
    await eventually('the publisher to stop', async () => {
      const before = (await get()).accepted;
      await new Promise((r) => setTimeout(r, 1000));
      return (await get()).accepted === before ? true : undefined;
    });
    const final = await get();
    assert.equal(final.state, 'cancelled');
    assert.ok(final.accepted > 0 && final.accepted < rows, `${final.accepted} of ${rows} rows sent`);
    assert.equal(await pgCount('finance_statements WHERE job_id = $1', [job.id]), final.accepted);
    assert.equal((await call(`/v1/jobs/${job.id}/cancel`, keys.admin!, { method: 'POST' })).status, 409);
  });
});

describe('the watch list', () => {
  it('pages the list; a deleted symbol is no longer fetched by the schedule', { timeout: 60_000 }, async () => {
    const fetched: string[] = [];
    class CountingRetriever extends MarketRetriever {
      override retrieve(...args: Parameters<MarketRetriever['retrieve']>) {
        if (args[0] === tenant) fetched.push(args[1]);
        return super.retrieve(...args);
      }
    }
    const fetcher = new Fetcher({
      crawl: 'life-market',
      log: new FetchLog(clickhouse),
      logger: log,
      ratePerSecondPerHost: 0,
    });
    const retriever = new CountingRetriever({
      fetcher,
      log: new FetchLog(clickhouse),
      producer,
      siteUrl: site.url,
      logger: log,
    });
    for (const symbol of ['IBM', 'AAPL', 'MSFT'])
      await json(
        call('/v1/stocks', keys.admin!, { method: 'POST', body: JSON.stringify({ symbol, interval_s: 10 }) }),
        201,
      );
    assert.deepEqual(await twoPages('/v1/stocks', 'stocks', 'symbol'), ['MSFT', 'AAPL', 'IBM']);

    const schedule = scheduleRetriever(db, retriever, log, 1000);
    try {
      await eventually('IBM fetched', () => (fetched.includes('IBM') ? true : undefined));
      assert.equal((await call('/v1/stocks/IBM', keys.other!, { method: 'DELETE' })).status, 404);
      assert.equal((await call('/v1/stocks/IBM', keys.admin!, { method: 'DELETE' })).status, 204);
      assert.equal((await call('/v1/stocks/IBM', keys.admin!, { method: 'DELETE' })).status, 404);
      await new Promise((r) => setTimeout(r, 1500)); // the schedule's next refresh of the list
      const before = fetched.filter((s) => s === 'IBM').length;
      // past one interval: MSFT is fetched again, IBM no more
      const msft = fetched.filter((s) => s === 'MSFT').length;
      await eventually(
        'MSFT fetched again',
        () => (fetched.filter((s) => s === 'MSFT').length > msft ? true : undefined),
        20_000,
      );
      assert.equal(fetched.filter((s) => s === 'IBM').length, before, 'IBM is not fetched after its delete');
    } finally {
      schedule.stop();
    }
    const { stocks } = await json<{ stocks: { symbol: string }[] }>(call('/v1/stocks', keys.admin!));
    assert.deepEqual(
      stocks.map((s) => s.symbol),
      ['MSFT', 'AAPL'],
    );
  });
});
