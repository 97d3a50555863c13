/**
 * The catalog flow a merchant follows, on real services: save a taxonomy, upload a product CSV,
 * pick columns, process; the classification processor and the ClickHouse sink run; progress
 * events reach 100 %; the result file holds every good row with genre and attributes, malformed
 * rows are reported by number, and a cell that would run as a formula is neutralised.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'csv-parse/sync';
import WebSocket from 'ws';
import type { App } from '../../api/app.ts';
import { composeApi } from '../../api/compose.ts';
import type { ApiDeps } from '../../api/deps.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { attachUploadSockets } from '../../api/upload-socket.ts';
import { classifiedToClickHouse } from '../../connectors/sinks/catalog-rows.ts';
import { startSink } from '../../connectors/sinks/index.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { loadGenreModel } from '../../processors/catalog/genre-model.ts';
import { catalogClassification } from '../../processors/catalog/index.ts';
import { runProcessor } from '../../processors/runtime/index.ts';
import { eventually, vegaDataFile } from '../../testkit/helpers.ts';

const ROWS = 50_000;
const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const log = createLogger('test');
const uploads = new Uploads(db, mkdtempSync(path.join(tmpdir(), 'millrace-catalog-')), producer, log);
let app: App;
let deps: ApiDeps;
let key: string;

const auth = () => ({ authorization: `Bearer ${key}` });
const json = (method: string, body: unknown) => ({
  method,
  body: JSON.stringify(body),
  headers: { ...auth(), 'content-type': 'application/json' },
});

before(async () => {
  await Promise.all([producer.connect(), admin.connect()]);
  const tenant = await createTenant(db, `catalog-flow-${randomBytes(3).toString('hex')}`);
  key = (await createKey(db, tenant.id, 'producer')).key;
  ({ app, deps } = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin, db, clickhouse },
    { log, checks: {}, topics: [], uploads },
  ));
});
after(() => Promise.all([producer.disconnect(), admin.disconnect(), db.end(), clickhouse.close()]));

/** The WebSocket's messages until it closes, or the HTTP status it was refused with. */
function socketMessages(
  url: string,
): Promise<{ messages: Record<string, unknown>[]; code?: number; refused?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
    ws.on('close', (code) => resolve({ messages, code }));
    ws.on('unexpected-response', (_req, res) => resolve({ messages, refused: res.statusCode }));
    ws.on('error', (error) => (error.message.includes('Unexpected server response') ? undefined : reject(error)));
  });
}

/** Reads an SSE response to its end, returning the events. */
async function events(response: Response): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message',
      data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown>,
    }));
}

describe('catalog: upload -> columns -> process -> classify -> result', () => {
  it(
    `${ROWS} real movie rows with 100 malformed: ${ROWS - 100} classified rows in ClickHouse and the result file, progress to 100 %`,
    { timeout: 600_000 },
    async () => {
      const genres = [
        'Drama',
        'Comedy',
        'Action',
        'Horror',
        'Adventure',
        'Thriller/Suspense',
        'Musical',
        'Romantic Comedy',
        'Documentary',
        'Black Comedy',
        'Western',
        'Concert/Performance',
      ];
      const saved = await app.request(
        '/v1/taxonomies/films',
        json('PUT', {
          genres,
          attributes: { format: ['DVD', 'Blu-ray'] },
          references: [{ text: 'Halloween', genre: 'Horror' }],
        }),
      );
      assert.equal(saved.status, 201);
      const refused = await app.request('/v1/taxonomies/films', json('PUT', { genres: ['Drama', 'DRAMA'] }));
      assert.equal(refused.status, 400, 'a taxonomy with duplicate genres is refused');

      const movies = (JSON.parse(readFileSync(vegaDataFile('movies.json'), 'utf8')) as { Title: unknown }[]).filter(
        (m) => typeof m.Title === 'string',
      );
      const bad = new Set(Array.from({ length: 100 }, (_, i) => 300 + i * 491));
      const lines = ['sku;title;format'];
      for (let row = 1; row <= ROWS; row++) {
        const title =
          row === 1
            ? '=HYPERLINK("http://evil")'
            : String(movies[(row - 1) % movies.length]!.Title).replace(/[;"\n]/g, ' ');
        lines.push(
          bad.has(row)
            ? `sku-${row};only two fields`
            : `sku-${row};${row === 1 ? `"${title.replace(/"/g, '""')}"` : title};${row % 2 ? 'DVD' : 'blu ray'}`,
        );
      }
      const created = await app.request('/v1/uploads?filename=films.csv', {
        method: 'POST',
        body: `\uFEFF${lines.join('\r\n')}\r\n`,
        headers: { ...auth(), 'content-type': 'text/csv' },
      });
      assert.equal(created.status, 201);
      const { id } = (await created.json()) as { id: string };
      const columns = (await (await app.request(`/v1/uploads/${id}/columns`, { headers: auth() })).json()) as {
        columns: { name: string }[];
      };
      assert.deepEqual(
        columns.columns.map((c) => c.name),
        ['sku', 'title', 'format'],
      );
      assert.equal(
        (await app.request(`/v1/uploads/${id}/result`, { headers: auth() })).status,
        409,
        'no result before classification',
      );
      assert.equal(
        (
          await app.request(
            `/v1/uploads/${id}/process`,
            json('POST', { columns: ['sku', 'title', 'format'], taxonomy: 'films' }),
          )
        ).status,
        202,
      );

      const model = loadGenreModel(loadConfig().CATALOG_GENRE_MODEL_DIR);
      const processor = await runProcessor(catalogClassification({ db, model: () => model }), { kafka, registry });
      const sink = await startSink(classifiedToClickHouse, { kafka, registry });
      try {
        const progress = await eventually(
          'the progress stream to end with done',
          async () => {
            const stream = await events(await app.request(`/v1/uploads/${id}/events`, { headers: auth() }));
            return stream.at(-1)?.event === 'done' ? stream : undefined;
          },
          480_000,
        );
        const done = progress.at(-1)!.data;
        assert.equal(done.percent, 100);
        assert.equal(done.classified_rows, ROWS - 100);
        assert.equal(done.rejected_rows, 100);
      } finally {
        await processor.stop();
        await sink.stop();
        await (await model).release();
      }

      const rejections = (await (await app.request(`/v1/uploads/${id}/rejections`, { headers: auth() })).json()) as {
        rejections: { row_number: number }[];
      };
      assert.deepEqual(
        rejections.rejections.map((r) => r.row_number).sort((a, b) => a - b),
        [...bad].sort((a, b) => a - b),
        'each malformed row by its number',
      );

      // the same progress over a WebSocket, on a real server (token in the query, as browsers must)
      const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
      await new Promise((r) => server.once('listening', r));
      attachUploadSockets(server, { db, tokens: deps.tokens, results: deps.uploadResults, log });
      const base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/uploads`;
      try {
        const live = await socketMessages(`${base}/${id}/ws?access_token=${key}`);
        assert.equal(live.code, 1000, 'closed normally once done');
        assert.equal(live.messages.at(-1)?.event, 'done');
        assert.equal(live.messages.at(-1)?.percent, 100);
        assert.equal((await socketMessages(`${base}/${id}/ws?access_token=mr_nobody_nothing`)).refused, 401);
        assert.equal((await socketMessages(`${base}/no-such-upload/ws?access_token=${key}`)).refused, 404);
      } finally {
        await new Promise((r) => server.close(r));
      }

      const result = await app.request(`/v1/uploads/${id}/result`, { headers: auth() });
      assert.equal(result.status, 200);
      assert.match(result.headers.get('content-type') ?? '', /text\/csv/);
      const rows = parse(await result.text(), { columns: true }) as Record<string, string>[];
      assert.equal(rows.length, ROWS - 100);
      assert.deepEqual(Object.keys(rows[0]!), [
        'row_number',
        'sku',
        'title',
        'format',
        'genre',
        'confidence',
        'decided_by',
        'attribute:format',
      ]);
      assert.equal(rows[0]!.title, `'=HYPERLINK("http://evil")`, 'a formula cell is neutralised');
      assert.ok(rows.every((r) => genres.includes(r.genre!) || r.decided_by === 'none'));
      assert.equal(rows.find((r) => r.row_number === '2')!['attribute:format'], 'Blu-ray');
      assert.equal(rows.find((r) => r.row_number === '3')!['attribute:format'], 'DVD');
      assert.ok(!rows.some((r) => bad.has(Number(r.row_number))), 'no malformed row in the result');
    },
  );
});
