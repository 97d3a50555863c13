/**
 * Idempotency-Key on real services: HTTP ingestion repeated with a key writes its records to Kafka
 * once and answers the same bytes; another body is a 422; tenants' keys never meet; concurrent
 * twins run once; a finance prediction retried with its key is its 201, not a 409. Then the
 * middleware alone (api/idempotency.ts) on the real Postgres: what it keeps (2xx, 4xx with their
 * status, body and Location), what it frees (5xx, a throw), a dead process's reservation taken
 * over, and a key aged past 24 hours running again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { App } from '../../api/app.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import type { AuthEnv } from '../../api/auth/middleware.ts';
import { composeApi } from '../../api/compose.ts';
import { ApiError, errorResponse } from '../../api/errors.ts';
import { idempotency, takesIdempotencyKey } from '../../api/idempotency.ts';
import { AMOUNTS } from '../../connectors/sources/finance-bulk/statements.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { readCommitted } from '../../testkit/processor-helpers.ts';

const kafka = createKafka('millrace-test');
const registry = new Registry();
const clickhouse = createClickHouse();
const db = createPostgresPool(6);
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const log = createLogger('test');
let app: App;

const QUOTES = 'market.quotes.raw';
const run = randomBytes(3).toString('hex');
const tenants = { a: `idem-a-${run}`, b: `idem-b-${run}` };
const keys: Record<string, string> = {};
let sequence = 0;

const quote = (i: number) => ({
  id: `idem-${run}-${i}`,
  event_time: 1_700_000_000_000 + i,
  source: 'idempotency-test',
  symbol: 'IBM',
  ts: 1_700_000_000_000 + i,
  open: null,
  high: null,
  low: null,
  close: 100 + i / 100,
  volume: null,
});

const post = (url: string, key: string, body: string, idempotencyKey?: string) =>
  app.request(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
    },
    body,
  });
const ingest = (key: string, body: string, idempotencyKey?: string) =>
  post(`/v1/topics/${QUOTES}/records`, key, body, idempotencyKey);
const newKey = () => `idem-${run}-${++sequence}`;

/** The ends of the quotes topic now: where a read of what a test wrote starts. */
const endsNow = async () =>
  new Map((await admin.fetchTopicOffsets(QUOTES)).map((p) => [p.partition, p.high] as [number, string]));

/** How many records of each id the topic holds after `from`. */
async function copiesOnTopic(from: ReadonlyMap<number, string>, ids: readonly string[]): Promise<Map<string, number>> {
  const wanted = new Set(ids);
  const copies = new Map(ids.map((id) => [id, 0]));
  for (const record of await readCommitted(kafka, QUOTES, 60_000, from)) {
    const { value } = await registry.decode<{ id: string }>(record.value);
    if (wanted.has(value.id)) copies.set(value.id, copies.get(value.id)! + 1);
  }
  return copies;
}

before(async () => {
  await Promise.all([producer.connect(), admin.connect()]);
  ({ app } = composeApi(loadConfig(), { kafka, registry, producer, admin, db, clickhouse }, { log, checks: {} }));
  for (const [name, tenant] of Object.entries(tenants)) {
    await createTenant(db, tenant);
    keys[`${name}-producer`] = (await createKey(db, tenant, 'producer')).key;
    keys[`${name}-admin`] = (await createKey(db, tenant, 'admin')).key;
  }
});
after(() => Promise.all([producer.disconnect(), admin.disconnect(), clickhouse.close(), db.end()]));

describe('Idempotency-Key on the API', () => {
  it('a repeat of an ingestion answers the first bytes and writes nothing; its records are on the topic once', async () => {
    const from = await endsNow();
    const records = [quote(1), quote(2), quote(3)];
    const key = newKey();
    const first = await ingest(keys['a-producer']!, JSON.stringify(records), key);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const firstText = await first.text();
    // the same value serialised otherwise (keys reordered, spaced) is the same request
    const reordered = JSON.stringify(
      records.map((r) => Object.fromEntries(Object.entries(r).reverse())),
      null,
      2,
    );
    for (const body of [JSON.stringify(records), reordered]) {
      const again = await ingest(keys['a-producer']!, body, key);
      assert.equal(again.status, 200);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.headers.get('content-type'), first.headers.get('content-type'));
      assert.equal(await again.text(), firstText, 'byte-identical');
    }
    const copies = await copiesOnTopic(
      from,
      records.map((r) => r.id),
    );
    assert.deepEqual([...copies.values()], [1, 1, 1], JSON.stringify([...copies]));
  });

  it('the same key with another body or on another route is a 422 naming the first request; nothing is written', async () => {
    const key = newKey();
    assert.equal((await ingest(keys['a-producer']!, JSON.stringify([quote(10)]), key)).status, 200);
    const from = await endsNow();
    const other = await ingest(keys['a-producer']!, JSON.stringify([quote(11)]), key);
    assert.equal(other.status, 422);
    const body = (await other.json()) as { error: string; field: string; message: string };
    assert.equal(body.error, 'idempotency_key_reused');
    assert.equal(body.field, 'idempotency-key');
    assert.match(body.message, new RegExp(`first used for POST /v1/topics/${QUOTES}/records with another body`));
    const elsewhere = await post('/v1/stocks', keys['a-producer']!, JSON.stringify({ symbol: 'IBM' }), key);
    assert.equal(elsewhere.status, 422);
    assert.match(
      ((await elsewhere.json()) as { message: string }).message,
      new RegExp(`first used for POST /v1/topics/${QUOTES}/records, not POST /v1/stocks`),
    );
    assert.deepEqual([...(await copiesOnTopic(from, [quote(11).id])).values()], [0]);
  });

  it("two tenants' equal keys are two keys: each runs once, neither sees the other's answer", async () => {
    const key = newKey();
    const from = await endsNow();
    const body = JSON.stringify([quote(20)]);
    const a = await ingest(keys['a-producer']!, body, key);
    const b = await ingest(keys['b-producer']!, body, key);
    assert.equal(b.headers.get('idempotent-replayed'), null, "tenant b's first use runs");
    const [aText, bText] = [await a.text(), await b.text()];
    assert.notEqual(aText, bText, 'each tenant got its own offset');
    // the record carries each tenant's id: both are on the topic, once each
    const records = await readCommitted(kafka, QUOTES, 60_000, from);
    const decoded = await Promise.all(
      records.map(async (r) => (await registry.decode<{ id: string; tenant_id: string }>(r.value)).value),
    );
    const mine = decoded.filter((v) => v.id === quote(20).id).map((v) => v.tenant_id);
    assert.deepEqual(mine.sort(), [tenants.a, tenants.b].sort());
    assert.equal(await (await ingest(keys['b-producer']!, body, key)).text(), bText);
    assert.equal(await (await ingest(keys['a-producer']!, body, key)).text(), aText);
  });

  it('concurrent twins: exactly one runs; the others get 409 while it runs, or its answer after', async () => {
    const key = newKey();
    const from = await endsNow();
    const body = JSON.stringify(Array.from({ length: 200 }, (_, i) => quote(1000 + i)));
    const answers = await Promise.all(Array.from({ length: 6 }, () => ingest(keys['a-producer']!, body, key)));
    const ran = answers.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') === null);
    assert.equal(ran.length, 1, answers.map((r) => r.status).join());
    const ranText = await ran[0]!.text();
    for (const answer of answers.filter((r) => r !== ran[0])) {
      if (answer.status === 409) {
        const refused = (await answer.json()) as { error: string; field: string };
        assert.equal(refused.error, 'idempotency_key_in_use');
        assert.equal(answer.headers.get('retry-after'), '1');
      } else {
        assert.equal(answer.headers.get('idempotent-replayed'), 'true');
        assert.equal(await answer.text(), ranText);
      }
    }
    const copies = await copiesOnTopic(
      from,
      Array.from({ length: 200 }, (_, i) => quote(1000 + i).id),
    );
    assert.deepEqual(new Set(copies.values()), new Set([1]));
  });

  it('a finance prediction retried with its key is its first 201 (without one, the retry is a 409)', async () => {
    const statement = {
      company_id: `idem-${run}`,
      period_end: '2024-12-31',
      ...Object.fromEntries(AMOUNTS.map((a, i) => [a, 1000 + i * 10])),
    };
    const key = newKey();
    const first = await post('/v1/predictions/annual', keys['a-producer']!, JSON.stringify(statement), key);
    assert.equal(first.status, 201, await first.clone().text());
    const again = await post('/v1/predictions/annual', keys['a-producer']!, JSON.stringify(statement), key);
    assert.equal(again.status, 201);
    assert.equal(await again.text(), await first.text());
    const keyless = await post('/v1/predictions/annual', keys['a-producer']!, JSON.stringify(statement));
    assert.equal(keyless.status, 409);
  });

  it('a malformed key is a 400 naming the header; a streamed route and key creation refuse one', async () => {
    for (const bad of ['', 'k'.repeat(256), 'tab\tinside']) {
      const response = await ingest(keys['a-producer']!, JSON.stringify([quote(30)]), bad);
      assert.equal(response.status, 400, JSON.stringify(bad));
      const body = (await response.json()) as { field: string; message: string };
      assert.equal(body.field, 'idempotency-key');
      assert.match(body.message, /1 to 255 printable ASCII/);
    }
    const upload = await app.request('/v1/uploads', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${keys['a-producer']}`,
        'content-type': 'text/csv',
        'idempotency-key': newKey(),
      },
      body: 'a,b\n1,2\n',
    });
    assert.equal(upload.status, 400);
    assert.match(
      ((await upload.json()) as { message: string }).message,
      /streams its body and takes no Idempotency-Key/,
    );
    const created = await post('/v1/keys', keys['a-admin']!, JSON.stringify({ role: 'reader' }), newKey());
    assert.equal(created.status, 400, 'a new API key is a secret, never kept for a replay');
    assert.match(((await created.json()) as { message: string }).message, /secret shown once, never stored/);
  });

  it('a key aged past 24 hours is gone: the request runs again', async () => {
    const key = newKey();
    const body = JSON.stringify([quote(40)]);
    const first = await (await ingest(keys['a-producer']!, body, key)).text();
    await db.query(
      "UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 minute' WHERE tenant_id = $1 AND key = $2",
      [tenants.a, key],
    );
    const later = await ingest(keys['a-producer']!, body, key);
    assert.equal(later.headers.get('idempotent-replayed'), null);
    assert.notEqual(await later.text(), first, 'produced again: new offsets');
  });

  it('/openapi.json documents the header, 409 and 422 on every POST and PUT that takes it, and only there', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<
        string,
        Record<string, { security?: unknown; parameters?: { in: string; name: string }[]; responses: object }>
      >;
    };
    const writes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([method, op]) => (method === 'post' || method === 'put') && op.security)
        .map(([method, op]) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'x'), op })),
    );
    assert.ok(writes.length >= 15, `${writes.length} guarded writes`);
    for (const { method, path, op } of writes) {
      const documented = (op.parameters ?? []).some((p) => p.in === 'header' && p.name === 'idempotency-key');
      assert.equal(documented, takesIdempotencyKey(method, path), `${method} ${path}`);
      if (documented) assert.ok('409' in op.responses && '422' in op.responses, `${method} ${path} answers`);
    }
  });
});

describe('the Idempotency-Key middleware', () => {
  const tenant = `idem-m-${run}`;
  let calls = 0;
  let fail: 'none' | 'status' | 'throw' = 'none';
  const mini = new Hono<AuthEnv>();
  mini.use(requestId());
  mini.use(async (c, next) => {
    c.set('principal', { tenantId: tenant, role: 'producer', subject: 'key:test' });
    await next();
  });
  mini.use(idempotency({ db, log }));
  mini.post('/things', (c) => {
    calls++;
    if (fail === 'status') return c.json({ error: 'down' }, 503);
    if (fail === 'throw') throw new Error('the handler broke');
    return c.json({ call: calls }, 201, { location: `/things/${calls}` });
  });
  mini.post('/missing', () => {
    calls++;
    throw new ApiError(404, 'not_found', `no thing (call ${calls})`);
  });
  mini.post('/nothing', (c) => {
    calls++;
    return c.body(null, 204);
  });
  mini.onError((error, c) => errorResponse(c, error, log));
  const send = (path: string, key: string, body = '{"a":1}') =>
    mini.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body,
    });

  it('keeps a 2xx with its Location and a 4xx; a 204 replays empty', async () => {
    const key = newKey();
    const first = await send('/things', key);
    const again = await send('/things', key);
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('location'), first.headers.get('location'));
    assert.equal(await again.text(), await first.text());
    const before = calls;
    const missing = await send('/missing', newKey());
    assert.equal(missing.status, 404);
    assert.equal(calls, before + 1);
    const nothingKey = newKey();
    assert.equal((await send('/nothing', nothingKey)).status, 204);
    const replayed = await send('/nothing', nothingKey);
    assert.equal(replayed.status, 204);
    assert.equal(await replayed.text(), '');
    assert.equal(calls, before + 2);
  });

  it('a 5xx or a throw frees the key: the retry runs, and its answer is then kept', async () => {
    for (const failure of ['status', 'throw'] as const) {
      const key = newKey();
      fail = failure;
      const broken = await send('/things', key);
      assert.ok(broken.status >= 500, `${failure}: ${broken.status}`);
      fail = 'none';
      const before = calls;
      const retried = await send('/things', key);
      assert.equal(retried.status, 201);
      assert.equal(calls, before + 1, 'the retry ran');
      assert.equal(await (await send('/things', key)).text(), await retried.text());
      assert.equal(calls, before + 1, 'and was kept');
    }
  });

  it('a reservation whose process died is taken over once its lease is over; another body still is a 422', async () => {
    const key = newKey();
    await db.query(
      `INSERT INTO idempotency_keys (tenant_id, key, request, fingerprint, state, owner, locked_at)
       VALUES ($1, $2, 'POST /things', 'not-this-body', 'running', gen_random_uuid(), now())`,
      [tenant, key],
    );
    assert.equal((await send('/things', key)).status, 422);
    const fingerprintOfSent = async () => {
      // what the middleware computes for the body `send` sends, read back from a fresh key
      const probe = newKey();
      await send('/things', probe);
      const { rows } = await db.query<{ fingerprint: string }>(
        'SELECT fingerprint FROM idempotency_keys WHERE tenant_id = $1 AND key = $2',
        [tenant, probe],
      );
      return rows[0]!.fingerprint;
    };
    await db.query('UPDATE idempotency_keys SET fingerprint = $3 WHERE tenant_id = $1 AND key = $2', [
      tenant,
      key,
      await fingerprintOfSent(),
    ]);
    const busy = await send('/things', key);
    assert.equal(busy.status, 409, 'still within its lease');
    await db.query(
      "UPDATE idempotency_keys SET locked_at = now() - interval '31 seconds' WHERE tenant_id = $1 AND key = $2",
      [tenant, key],
    );
    const before = calls;
    const taken = await send('/things', key);
    assert.equal(taken.status, 201);
    assert.equal(calls, before + 1);
  });
});
