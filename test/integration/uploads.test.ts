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

/** Windows-1252 bytes of a text (Node's Buffer knows only Latin-1, which lacks € and curly quotes). */
class TextEncoderCp1252 {
  private static readonly high = new Map(
    Array.from({ length: 32 }, (_, i) => [
      new TextDecoder('windows-1252').decode(Uint8Array.of(0x80 + i), { stream: true }),
      0x80 + i,
    ]),
  );
  encode(text: string): Uint8Array {
    return Uint8Array.from([...text].map((c) => TextEncoderCp1252.high.get(c) ?? c.charCodeAt(0)));
  }
}

/** The fields of the records of `uploads` on catalog.rows.raw since `from`, by `<upload id>:<row number>`. */
async function rowsOnTopic(
  uploadIds: Set<string>,
  from: { partition: number; offset: string }[],
  count: number,
): Promise<Map<string, Record<string, string>>> {
  const seen = new Map<string, Record<string, string>>();
  const consumer = kafka.consumer({ groupId: `test-upload-rows-${randomBytes(4).toString('hex')}` });
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
        if (uploadIds.has(value.upload_id)) seen.set(`${value.upload_id}:${value.row_number}`, value.fields);
      }
    },
  });
  for (const p of from) consumer.seek({ topic: ROWS_TOPIC, partition: p.partition, offset: p.offset });
  try {
    await eventually(`${count} rows`, () => (seen.size >= count ? true : undefined), 60_000);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

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

    // a UTF-8 file (its "Crème" is valid UTF-8) with one broken sequence: that row is refused
    const badUtf8 = Buffer.concat([
      Buffer.from('sku,title\r\nc,Crème\r\na,caf'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('\r\nb,fine\r\n'),
    ]);
    const enc = (await (await upload(badUtf8)).json()) as { id: string; encoding: string };
    assert.equal(enc.encoding, 'utf-8');
    await post(`/v1/uploads/${enc.id}/process`, { columns: ['sku', 'title'] });
    assert.deepEqual(
      (({ published_rows, rejected_rows }) => [published_rows, rejected_rows])(await processed(enc.id)),
      [2, 1],
    );
    const { rejections } = (await (await get(`/v1/uploads/${enc.id}/rejections`)).json()) as {
      rejections: { row_number: number; reason: string }[];
    };
    assert.deepEqual(rejections, [{ row_number: 2, reason: 'not valid UTF-8' }]);

    assert.equal((await get(`/v1/uploads/${randomBytes(4).toString('hex')}`)).status, 400, 'not a uuid');
    assert.equal((await get('/v1/uploads/00000000-0000-4000-8000-000000000000')).status, 404);
  });

  it('files as people export them (Latin-1, Excel "Unicode text", UTF-8 with BOM, declared) reach the topic decoded', async () => {
    const rows = [
      ['SKU-1', 'Café crème', '3,50 €'],
      ['SKU-2', 'Garçon “naïf”', '12'],
    ];
    const text = (delimiter: string) =>
      `sku${delimiter}title${delimiter}price\r\n${rows.map((r) => r.map(csvField).join(delimiter)).join('\r\n')}\r\n`;
    const files: { about: string; body: Buffer; contentType?: string; query?: string; encoding: string }[] = [
      // Windows-1252 has € and curly quotes where Latin-1 has control codes: what Excel saves as "CSV"
      {
        about: 'windows-1252, detected',
        body: Buffer.from(new TextEncoderCp1252().encode(text(';'))),
        encoding: 'windows-1252',
      },
      {
        about: 'UTF-16LE with BOM, tab-delimited (Excel "Unicode text")',
        body: Buffer.concat([Buffer.from('fffe', 'hex'), Buffer.from(text('\t'), 'utf16le')]),
        encoding: 'utf-16le',
      },
      { about: 'UTF-8 with BOM', body: Buffer.from(`\uFEFF${text(',')}`), encoding: 'utf-8' },
      {
        about: 'UTF-16BE without BOM, declared in the content type',
        body: Buffer.from(text(','), 'utf16le').swap16(),
        contentType: 'text/csv; charset=UTF-16BE',
        encoding: 'utf-16be',
      },
      {
        about: 'Windows-1252 declared as ?charset=latin1 (its WHATWG label)',
        body: Buffer.from(new TextEncoderCp1252().encode(text(','))),
        query: '&charset=latin1',
        encoding: 'windows-1252',
      },
    ];
    const before = await admin.fetchTopicOffsets(ROWS_TOPIC);
    const ids = new Map<string, string>();
    for (const f of files) {
      const response = await app.request(`/v1/uploads?filename=export.csv${f.query ?? ''}`, {
        method: 'POST',
        body: f.body,
        headers: { authorization: `Bearer ${key}`, 'content-type': f.contentType ?? 'text/csv' },
      });
      assert.equal(response.status, 201, f.about);
      const created = (await response.json()) as { id: string; encoding: string };
      assert.equal(created.encoding, f.encoding, f.about);
      const columns = (await (await get(`/v1/uploads/${created.id}/columns`)).json()) as {
        encoding: string;
        columns: { name: string }[];
        sample: Record<string, string>[];
      };
      assert.equal(columns.encoding, f.encoding, f.about);
      assert.deepEqual(
        columns.columns.map((c) => c.name),
        ['sku', 'title', 'price'],
        f.about,
      );
      assert.deepEqual(columns.sample[0], { sku: 'SKU-1', title: 'Café crème', price: '3,50 €' }, f.about);
      assert.equal(
        (await post(`/v1/uploads/${created.id}/process`, { columns: ['sku', 'title', 'price'] })).status,
        202,
      );
      const done = await processed(created.id);
      assert.deepEqual([done.published_rows, done.rejected_rows], [2, 0], f.about);
      ids.set(created.id, f.about);
    }
    const stored = await rowsOnTopic(new Set(ids.keys()), before, rows.length * files.length);
    for (const [id, about] of ids)
      assert.deepEqual(
        [1, 2].map((n) => stored.get(`${id}:${n}`)),
        rows.map(([sku, title, price]) => ({ sku, title, price })),
        about,
      );
  });

  it('a declared charset wins: an unknown one is a 400 naming it, bytes invalid in it a 400 naming where', async () => {
    const refused = async (init: { body: Buffer | string; query?: string; contentType?: string }) => {
      const response = await app.request(`/v1/uploads?filename=x.csv${init.query ?? ''}`, {
        method: 'POST',
        body: init.body,
        headers: { authorization: `Bearer ${key}`, 'content-type': init.contentType ?? 'text/csv' },
      });
      return [response.status, ((await response.json()) as { field?: string; message: string }).message];
    };
    assert.deepEqual(await refused({ body: 'a,b\n1,2\n', query: '&charset=klingon' }), [
      400,
      'unknown charset "klingon"',
    ]);
    assert.deepEqual(await refused({ body: 'a,b\n1,2\n', contentType: 'text/csv; charset=ebcdic-cp-us' }), [
      400,
      'unknown charset "ebcdic-cp-us"',
    ]);
    assert.deepEqual(
      await refused({ body: Buffer.from('sku,title\na,Caf\xe9\n', 'latin1'), contentType: 'text/csv; charset=utf-8' }),
      [400, 'the file is not valid UTF-8, as declared: line 2, byte offset 15'],
    );
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
