import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../api/app.ts';
import { loadConfig } from '../../core/config.ts';
import { composeApi } from '../../api/compose.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { ROWS_TOPIC, Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { eventually, vegaDataFile } from '../../testkit/helpers.ts';

const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(4);
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const clickhouse = createClickHouse();
const log = createLogger('test');
const uploads = new Uploads(db, mkdtempSync(path.join(tmpdir(), 'millrace-uploads-')), producer, log);
const tenant = `u-${randomBytes(3).toString('hex')}`;
let app: App;
let key: string;

interface Movie {
  Title: string | null;
  'Major Genre': string | null;
  'Release Date': string | null;
  'IMDB Rating': number | null;
}
const movies = JSON.parse(readFileSync(vegaDataFile('movies.json'), 'utf8')) as Movie[];
const csvField = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",;\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

const upload = (body: string | Uint8Array | Buffer, contentType = 'text/csv', filename = 'products.csv') =>
  app.request(`/v1/uploads?filename=${filename}`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
  });
const get = (url: string) => app.request(url, { headers: { authorization: `Bearer ${key}` } });
const post = (url: string, body: unknown) =>
  app.request(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  });

async function processed(id: string) {
  return eventually(
    'processing to finish',
    async () => {
      const state = (await (await get(`/v1/uploads/${id}`)).json()) as {
        state: string;
        total_rows: number;
        published_rows: number;
        rejected_rows: number;
      };
      return state.state === 'processed' || state.state === 'failed' ? state : undefined;
    },
    120_000,
  );
}

before(async () => {
  await Promise.all([producer.connect(), admin.connect()]);
  await createTenant(db, tenant);
  key = (await createKey(db, tenant, 'producer')).key;
  app = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin, db, clickhouse },
    { log, checks: {}, topics: [], uploads },
  ).app;
});
after(() => Promise.all([producer.disconnect(), admin.disconnect(), db.end(), clickhouse.close()]));

describe('uploads', () => {
  it('50,000 real movie rows with 100 malformed: 49,900 records on catalog.rows.raw and 100 rejections by row number', async () => {
    const header = ['sku', 'title', 'genre', 'released', 'rating'];
    const bad = new Set(Array.from({ length: 100 }, (_, i) => 250 + i * 497)); // row numbers (1-based)
    const lines = [header.join(',')];
    for (let row = 1; row <= 50_000; row++) {
      const m = movies[(row - 1) % movies.length]!;
      const fields = [`SKU-${row}`, m.Title, m['Major Genre'], m['Release Date'], m['IMDB Rating']].map(csvField);
      if (bad.has(row)) fields.push(row % 2 === 0 ? 'an extra field' : '');
      lines.push(fields.join(','));
    }
    const before = await admin.fetchTopicOffsets(ROWS_TOPIC);
    const response = await upload(`${lines.join('\r\n')}\r\n`);
    assert.equal(response.status, 201);
    const { id, format, delimiter } = (await response.json()) as { id: string; format: string; delimiter: string };
    assert.deepEqual([format, delimiter], ['csv', ',']);

    const columns = (await (await get(`/v1/uploads/${id}/columns`)).json()) as {
      columns: { name: string; type: string }[];
    };
    assert.deepEqual(
      columns.columns.map((c) => c.name),
      header,
    );
    assert.equal(columns.columns.find((c) => c.name === 'rating')?.type, 'number');

    assert.equal((await post(`/v1/uploads/${id}/process`, { columns: ['sku', 'title', 'nope'] })).status, 400);
    const started = await post(`/v1/uploads/${id}/process`, { columns: ['sku', 'title', 'genre'] });
    assert.equal(started.status, 202);
    assert.equal((await post(`/v1/uploads/${id}/process`, { columns: ['sku'] })).status, 409);
    const done = await processed(id);
    assert.deepEqual([done.total_rows, done.published_rows, done.rejected_rows], [50_000, 49_900, 100]);

    const rejections: { row_number: number; reason: string }[] = [];
    for (let after = 0; ;) {
      const page = (
        (await (await get(`/v1/uploads/${id}/rejections?after=${after}&limit=40`)).json()) as {
          rejections: typeof rejections;
        }
      ).rejections;
      if (page.length === 0) break;
      rejections.push(...page);
      after = page.at(-1)!.row_number;
    }
    assert.deepEqual(
      rejections.map((r) => r.row_number),
      [...bad].sort((a, b) => a - b),
    );
    assert.ok(rejections.every((r) => r.reason === 'expected 5 fields, got 6'));

    // every good row is on the topic once, with its row number and the selected fields
    const seen = new Map<number, Record<string, string>>();
    const consumer = kafka.consumer({ groupId: `test-upload-${id}` });
    await consumer.connect();
    await consumer.subscribe({ topic: ROWS_TOPIC });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const { value } = await registry.decode<{
            upload_id: string;
            row_number: number;
            fields: Record<string, string>;
          }>(message.value);
          if (value.upload_id === id) seen.set(value.row_number, value.fields);
        }
      },
    });
    for (const p of before) consumer.seek({ topic: ROWS_TOPIC, partition: p.partition, offset: p.offset });
    try {
      await eventually('49,900 rows', () => (seen.size >= 49_900 ? true : undefined), 120_000);
    } finally {
      await consumer.disconnect();
    }
    assert.equal(seen.size, 49_900);
    assert.ok(![...bad].some((row) => seen.has(row)));
    assert.deepEqual(seen.get(1), {
      sku: 'SKU-1',
      title: movies[0]!.Title ?? '',
      genre: movies[0]!['Major Genre'] ?? '',
    });
  });

  it('a BOM, ";" delimiter, CRLF and quoted newlines are read right', async () => {
    const body = '\uFEFFname;description;price\r\n"Chair";"solid oak;\r\nhand made";"12,50"\r\nTable;plain;99\r\n';
    const { id, delimiter } = (await (await upload(body)).json()) as { id: string; delimiter: string };
    assert.equal(delimiter, ';');
    const { columns, sample } = (await (await get(`/v1/uploads/${id}/columns`)).json()) as {
      columns: { name: string }[];
      sample: Record<string, string>[];
    };
    assert.deepEqual(
      columns.map((c) => c.name),
      ['name', 'description', 'price'],
    );
    assert.deepEqual(sample[0], { name: 'Chair', description: 'solid oak;\r\nhand made', price: '12,50' });
  });

  it('JSON lines: objects become rows, other lines are rejected with their number', async () => {
    const body = '{"sku":"a","title":"x"}\n[1,2]\n{"sku":"b","title":"y","extra":{"k":1}}\nnot json\n';
    const { id, format } = (await (await upload(body, 'application/x-ndjson', 'p.jsonl')).json()) as {
      id: string;
      format: string;
    };
    assert.equal(format, 'jsonl');
    assert.equal((await post(`/v1/uploads/${id}/process`, { columns: ['sku', 'extra'] })).status, 202);
    const done = await processed(id);
    assert.deepEqual([done.total_rows, done.published_rows, done.rejected_rows], [4, 2, 2]);
    const { rejections } = (await (await get(`/v1/uploads/${id}/rejections`)).json()) as {
      rejections: { row_number: number; reason: string }[];
    };
    assert.deepEqual(
      rejections.map((r) => [r.row_number, r.reason.split(':')[0]]),
      [
        [2, 'not a JSON object'],
        [4, 'not JSON'],
      ],
    );
  });

  it('edge cases give a clear 4xx or a rejected row, never a 500', async () => {
    const empty = await upload('');
    assert.equal(empty.status, 400);
    assert.match(((await empty.json()) as { message: string }).message, /empty/);

    const binary = await upload(new Uint8Array(randomBytes(4096).map((b, i) => (i % 7 === 0 ? 0 : b))));
    assert.equal(binary.status, 415);

    const headerOnly = (await (await upload('a,b,c\r\n')).json()) as { id: string };
    const cols = (await (await get(`/v1/uploads/${headerOnly.id}/columns`)).json()) as {
      columns: { name: string; type: string }[];
    };
    assert.deepEqual(cols.columns, [
      { name: 'a', type: 'empty' },
      { name: 'b', type: 'empty' },
      { name: 'c', type: 'empty' },
    ]);
    await post(`/v1/uploads/${headerOnly.id}/process`, { columns: ['a'] });
    assert.deepEqual(
      (({ total_rows, published_rows }) => [total_rows, published_rows])(await processed(headerOnly.id)),
      [0, 0],
    );

    const huge = `sku,text\r\nok,small\r\nbig,${'x'.repeat(10 * 1024 * 1024)}\r\nfine,again\r\n`;
    const big = (await (await upload(huge)).json()) as { id: string };
    await post(`/v1/uploads/${big.id}/process`, { columns: ['sku', 'text'] });
    const done = await processed(big.id);
    assert.equal(done.published_rows, 2, 'the rows around the 10 MB field are kept');
    assert.equal(done.rejected_rows, 1);

    const badUtf8 = Buffer.concat([
      Buffer.from('sku,title\r\na,caf'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('\r\nb,fine\r\n'),
    ]);
    const enc = (await (await upload(badUtf8)).json()) as { id: string };
    await post(`/v1/uploads/${enc.id}/process`, { columns: ['sku', 'title'] });
    assert.deepEqual(
      (({ published_rows, rejected_rows }) => [published_rows, rejected_rows])(await processed(enc.id)),
      [1, 1],
    );

    assert.equal((await get(`/v1/uploads/${randomBytes(4).toString('hex')}`)).status, 400, 'not a uuid');
    assert.equal((await get('/v1/uploads/00000000-0000-4000-8000-000000000000')).status, 404);
  });

  it('a file past the size cap is refused with 413 and nothing is kept', async () => {
    const small = new Uploads(db, mkdtempSync(path.join(tmpdir(), 'millrace-uploads-')), producer, log);
    const body = new Blob([`a,b\r\n${'1,2\r\n'.repeat(100_000)}`]).stream();
    await assert.rejects(
      small.receive(tenant, body, { maxBytes: 64 * 1024 }),
      (e: Error & { status?: number }) => e.status === 413,
    );
  });
});
