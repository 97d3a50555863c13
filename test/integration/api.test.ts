import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { OpenAPIHono } from '@hono/zod-openapi';
import { sign } from 'hono/jwt';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { App } from '../../api/app.ts';
import { loadConfig } from '../../core/config.ts';
import { composeApi } from '../../api/compose.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createKey, createTenant, createUser } from '../../api/auth/accounts.ts';
import { jwtSecret } from '../../api/auth/secret.ts';
import { ApiError, errorBody } from '../../api/errors.ts';
import { RateCounter, rateLimit } from '../../api/rate-limit.ts';
import { serviceChecks } from '../../api/readiness.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { eventually } from '../../testkit/helpers.ts';

const kafka = createKafka('millrace-test');
const registry = new Registry();
const clickhouse = createClickHouse('default');
const db = createPostgresPool(4);
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const checks = serviceChecks({ kafka, registry, clickhouse, postgres: db });
const log = createLogger('test');
let app: App;
const uploads = new Uploads(db, mkdtempSync(path.join(tmpdir(), 'millrace-uploads-')), producer, log);

const run = randomBytes(3).toString('hex');
const tenantA = `a-${run}`;
const tenantB = `b-${run}`;
const keys: Record<string, string> = {};

const call = (path: string, init: RequestInit & { key?: string } = {}) =>
  app.request(path, {
    ...init,
    headers: {
      ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
      'content-type': 'application/json',
      ...init.headers,
    },
  });

function quote(i: number, tenant?: string) {
  return {
    id: `api-${run}-${i}`,
    ...(tenant ? { tenant_id: tenant } : {}),
    event_time: 1_700_000_000_000 + i,
    source: 'api-test',
    symbol: 'IBM',
    ts: 1_700_000_000_000 + i,
    open: null,
    high: null,
    low: null,
    close: 100 + i / 100,
    volume: null,
  };
}

before(async () => {
  await Promise.all([producer.connect(), admin.connect()]);
  app = composeApi(loadConfig(), { kafka, registry, producer, admin, db, clickhouse }, { log, checks, uploads }).app;
  await createTenant(db, tenantA);
  await createTenant(db, tenantB);
  for (const role of ['admin', 'producer', 'reader'] as const) {
    keys[`a-${role}`] = (await createKey(db, tenantA, role)).key;
    keys[`b-${role}`] = (await createKey(db, tenantB, role)).key;
  }
});
after(() => Promise.all([producer.disconnect(), admin.disconnect(), clickhouse.close(), db.end()]));

describe('app shell', () => {
  it('/readyz reports each real service ready, with a request id and security headers', async () => {
    const response = await call('/readyz');
    assert.equal(response.status, 200);
    assert.ok(response.headers.get('x-request-id'));
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.deepEqual(await response.json(), {
      status: 'ready',
      services: { kafka: { ok: true }, registry: { ok: true }, clickhouse: { ok: true }, postgres: { ok: true } },
    });
  });

  it('/readyz is 503 and names the service that does not answer', async () => {
    const broken = composeApi(
      loadConfig(),
      { kafka, registry, producer, admin, db, clickhouse },
      {
        log,
        topics: [],
        uploads,
        checks: {
          ...checks,
          registry: () => new Registry('http://127.0.0.1:1/apis/ccompat/v7').subjects().then(() => undefined),
        },
      },
    ).app;
    const response = await broken.request('/readyz');
    assert.equal(response.status, 503);
    const body = (await response.json()) as { services: Record<string, { ok: boolean; error?: string }> };
    assert.equal(body.services.registry?.ok, false);
    assert.ok(body.services.registry?.error);
    assert.equal(body.services.kafka?.ok, true);
  });

  it('unknown routes get a JSON 404 with the request id', async () => {
    const response = await call('/nope', { headers: { 'x-request-id': 'req-123' } });
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), {
      error: 'not_found',
      message: 'no route for GET /nope',
      request_id: 'req-123',
    });
  });

  it('serves /openapi.json generated from the route schemas, a docs page and /metrics', async () => {
    const doc = (await (await call('/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const path of ['/healthz', '/readyz', '/v1/auth/login', '/v1/keys', '/v1/topics/{topic}/records'])
      assert.ok(doc.paths[path], path);
    const docs = await call('/docs');
    assert.match(await docs.text(), /\/v1\/topics\/\{topic\}\/records/);
    const metrics = await call('/metrics');
    assert.match(await metrics.text(), /process_cpu_seconds_total/);
  });

  it('a body over the limit is 413', async () => {
    const response = await call('/v1/topics/market.quotes.raw/records', {
      method: 'POST',
      key: keys['a-producer'],
      body: `[${'"x",'.repeat(300_000)}"x"]`,
    });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { error: string }).error, 'payload_too_large');
  });
});

describe('auth', () => {
  const keysRoute = '/v1/keys';

  it('missing, malformed, forged and expired credentials are 401', async () => {
    assert.equal((await call(keysRoute)).status, 401);
    assert.equal((await call(keysRoute, { key: 'mr_nope' })).status, 401);
    assert.equal((await call(keysRoute, { key: `${keys['a-admin']!.slice(0, -2)}xx` })).status, 401);
    const forged = await sign(
      { sub: 'key:x', tenant: tenantA, role: 'admin', kind: 'access', exp: Math.floor(Date.now() / 1000) + 60 },
      'not-the-secret-not-the-secret-not-the-secret',
      'HS256',
    );
    assert.equal((await call(keysRoute, { key: forged })).status, 401);
    const expired = await sign(
      { sub: 'key:x', tenant: tenantA, role: 'admin', kind: 'access', exp: Math.floor(Date.now() / 1000) - 60 },
      jwtSecret(loadConfig()),
      'HS256',
    );
    const response = await call(keysRoute, { key: expired });
    assert.equal(response.status, 401);
    assert.match(((await response.json()) as { message: string }).message, /invalid access token/);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
  });

  it('a role without the permission is 403', async () => {
    const response = await call(keysRoute, { key: keys['a-reader'] });
    assert.equal(response.status, 403);
    assert.match(((await response.json()) as { message: string }).message, /role reader may not manage keys/);
    assert.equal(
      (
        await call('/v1/topics/market.quotes.raw/records', {
          method: 'POST',
          key: keys['a-reader'],
          body: JSON.stringify([quote(0)]),
        })
      ).status,
      403,
    );
  });

  it('keys: created once-shown through the API, listed without secrets, revoked keys are 401', async () => {
    const created = await call(keysRoute, {
      method: 'POST',
      key: keys['a-admin'],
      body: JSON.stringify({ role: 'reader', label: 'dashboard' }),
    });
    assert.equal(created.status, 201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    assert.match(key, /^mr_[a-z0-9]{12}_/);
    assert.equal((await call('/v1/topics', { key })).status, 200);
    const listed = await (await call(keysRoute, { key: keys['a-admin'] })).text();
    // the secret is all after the id (base64url: it may hold '_' itself)
    const secret = key.slice(`mr_${id}_`.length);
    assert.ok(listed.includes(id) && !listed.includes(secret), 'listed by id, never with its secret');
    assert.equal((await call(`${keysRoute}/${id}`, { method: 'DELETE', key: keys['a-admin'] })).status, 204);
    assert.equal((await call('/v1/topics', { key })).status, 401);
    assert.equal(
      (await call(`${keysRoute}/${id}`, { method: 'DELETE', key: keys['b-admin'] })).status,
      404,
      "another tenant's key is not found",
    );
  });

  it('login with a password gives tokens; refresh renews them; a refresh token is no access token', async () => {
    const email = `admin-${run}@example.com`;
    await createUser(db, tenantA, email, 'correct horse battery staple', 'admin');
    assert.equal(
      (await call('/v1/auth/login', { method: 'POST', body: JSON.stringify({ email, password: 'wrong password!' }) }))
        .status,
      401,
    );
    const bad = await call('/v1/auth/login', {
      method: 'POST',
      body: JSON.stringify({ email: 'not-an-email', password: 'x' }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field: string }).field, 'email');
    const login = await call('/v1/auth/login', {
      method: 'POST',
      body: JSON.stringify({ email, password: 'correct horse battery staple' }),
    });
    assert.equal(login.status, 200);
    const tokens = (await login.json()) as { access_token: string; refresh_token: string };
    assert.equal((await call(keysRoute, { key: tokens.access_token })).status, 200);
    assert.equal((await call(keysRoute, { key: tokens.refresh_token })).status, 401);
    const refreshed = await call('/v1/auth/refresh', {
      method: 'POST',
      body: JSON.stringify({ refresh_token: tokens.refresh_token }),
    });
    assert.equal(refreshed.status, 200);
    const renewed = (await refreshed.json()) as { access_token: string };
    assert.equal((await call(keysRoute, { key: renewed.access_token })).status, 200);
    assert.equal(
      (await call('/v1/auth/refresh', { method: 'POST', body: JSON.stringify({ refresh_token: tokens.access_token }) }))
        .status,
      401,
    );
  });

  it('over the limit is 429 with Retry-After; instances share their counts through Postgres', async () => {
    const bucket = `test:${run}`;
    // flushed by hand below, never by their timers
    const at = Date.now(); // one window throughout, even across a minute boundary
    const counters = [new RateCounter(db, 3_600_000, () => at), new RateCounter(db, 3_600_000, () => at)];
    const [first, second] = counters.map((counter) => {
      const limited = new OpenAPIHono();
      limited.use(rateLimit(counter, 3, () => bucket));
      limited.get('/', (c) => c.text('ok'));
      limited.onError((error, c) =>
        error instanceof ApiError
          ? (c.header('retry-after', error.headers['retry-after']),
            c.json(errorBody(c, error.code, error.message), error.status))
          : c.text('bad', 500),
      );
      return limited;
    }) as [OpenAPIHono, OpenAPIHono];
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await first.request('/')).status);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const response = await first.request('/');
    assert.ok(Number(response.headers.get('retry-after')) >= 1 && Number(response.headers.get('retry-after')) <= 60);
    const stored = async () =>
      (
        await db.query<{ hits: number }>('SELECT sum(hits)::int AS hits FROM rate_limit_counters WHERE bucket = $1', [
          bucket,
        ])
      ).rows[0]?.hits ?? 0;
    assert.equal(await stored(), 0, 'nothing written per request');
    await counters[0]!.flush();
    assert.equal(await stored(), 6);
    // the other instance knows of the first's hits once it has flushed its own
    assert.equal((await second.request('/')).status, 200);
    await counters[1]!.flush();
    assert.equal(await stored(), 7);
    assert.equal((await second.request('/')).status, 429);
    await Promise.all(counters.map((counter) => counter.close()));
  });
});

describe('ingestion over HTTP', () => {
  it('1,000 records of which 10 violate the schema: 990 offsets and 10 precise errors', async () => {
    const records: unknown[] = Array.from({ length: 1000 }, (_, i) => quote(i));
    const bad = new Map<number, string>([
      [5, 'close'],
      [105, 'symbol'],
      [205, 'ts'],
      [305, 'close'],
      [405, 'volume'],
      [505, 'id'],
      [605, 'event_time'],
      [705, 'open'],
      [805, 'source'],
      [905, 'close'],
    ]);
    for (const [i, field] of bad) {
      const r = records[i] as Record<string, unknown>;
      r[field] = field === 'id' ? undefined : field === 'volume' ? 1.5 : 'not a number';
      if (field === 'symbol' || field === 'source') r[field] = 42;
    }
    const response = await call('/v1/topics/market.quotes.raw/records', {
      method: 'POST',
      key: keys['a-producer'],
      body: JSON.stringify(records),
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      accepted: number;
      rejected: number;
      results: {
        index: number;
        id?: string;
        partition?: number;
        offset?: string;
        field?: string;
        expected?: string;
        message?: string;
      }[];
    };
    assert.equal(body.accepted, 990);
    assert.equal(body.rejected, 10);
    for (const [i, field] of bad) {
      const result = body.results[i]!;
      assert.equal(result.field, field, JSON.stringify(result));
      assert.ok(result.expected && result.message?.includes(field), JSON.stringify(result));
    }
    const accepted = body.results.filter((r) => r.offset !== undefined);
    assert.equal(new Set(accepted.map((r) => `${r.partition}:${r.offset}`)).size, 990);

    // every offset given back holds the record it was given for, with the caller's tenant
    const expected = new Map(accepted.map((r) => [`${r.partition}:${r.offset}`, r.id]));
    const found = new Map<string, { id: string; tenant: string }>();
    const consumer = kafka.consumer({ groupId: `test-ingest-${run}` });
    await consumer.connect();
    await consumer.subscribe({ topic: 'market.quotes.raw', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const where = `${partition}:${message.offset}`;
        if (!expected.has(where)) return;
        const { value } = await registry.decode<{ id: string; tenant_id: string }>(message.value);
        found.set(where, { id: value.id, tenant: value.tenant_id });
      },
    });
    try {
      await eventually('the 990 records', () => (found.size >= 990 ? true : undefined));
    } finally {
      await consumer.disconnect();
    }
    for (const [where, id] of expected) assert.deepEqual(found.get(where), { id, tenant: tenantA });
  });

  it('a record naming another tenant is refused; unknown or non-ingestible topics are 404; a non-array is 400', async () => {
    const response = await call('/v1/topics/market.quotes.raw/records', {
      method: 'POST',
      key: keys['a-producer'],
      body: JSON.stringify([quote(1, tenantB)]),
    });
    const body = (await response.json()) as { rejected: number; results: { field: string }[] };
    assert.equal(body.rejected, 1);
    assert.equal(body.results[0]!.field, 'tenant_id');
    assert.equal(
      (await call('/v1/topics/market.quotes.nope/records', { method: 'POST', key: keys['a-producer'], body: '[{}]' }))
        .status,
      404,
    );
    const notArray = await call('/v1/topics/market.quotes.raw/records', {
      method: 'POST',
      key: keys['a-producer'],
      body: '{"id": 1}',
    });
    assert.equal(notArray.status, 400);
  });
});

describe('market watch list', () => {
  it('a producer adds symbols; duplicates are 409; bad tickers 400 naming the field; each tenant sees its own', async () => {
    const add = (key: string, body: unknown) => call('/v1/stocks', { method: 'POST', key, body: JSON.stringify(body) });
    assert.equal((await add(keys['a-producer']!, { symbol: 'MSFT', interval_s: 60 })).status, 201);
    assert.equal((await add(keys['a-producer']!, { symbol: 'MSFT' })).status, 409);
    const bad = await add(keys['a-producer']!, { symbol: 'ms ft' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field: string }).field, 'symbol');
    assert.equal((await add(keys['a-reader']!, { symbol: 'IBM' })).status, 403);
    assert.equal((await add(keys['b-producer']!, { symbol: 'IBM' })).status, 201);
    const listA = (await (await call('/v1/stocks', { key: keys['a-reader'] })).json()) as {
      stocks: { symbol: string; interval_s: number }[];
    };
    assert.deepEqual(
      listA.stocks.map((s) => [s.symbol, s.interval_s]),
      [['MSFT', 60]],
    );
  });
});

/** Routes about the platform, not a tenant's data: operators only (their own test walks them). */
const OPERATOR_ONLY = new Set(['/v1/pipelines']);
/** A signed-in user's own: an API key has none (403); walked with a user's access token. */
const USER_ONLY = new Set(['/v1/me/profile']);

describe('tenant isolation', () => {
  it("for every GET route without path parameters in the OpenAPI document, tenant A never sees tenant B's data", async () => {
    const doc = (await (await call('/openapi.json')).json()) as {
      paths: Record<string, { get?: { security?: unknown; parameters?: { in: string; required?: boolean }[] } }>;
    };
    const routes = Object.entries(doc.paths).filter(([path, item]) => item.get?.security && !path.includes('{'));
    assert.ok(routes.length >= 2);
    // tenant B owns something distinctive in every resource; A must never see any of it
    const marker = `Z${run.toUpperCase()}`;
    assert.equal(
      (await call('/v1/stocks', { method: 'POST', key: keys['b-producer'], body: JSON.stringify({ symbol: marker }) }))
        .status,
      201,
    );
    const bIds = (await (await call('/v1/keys', { key: keys['b-admin'] })).json()) as { keys: { id: string }[] };
    // B's members, sessions and invitations; A walks as a key and as a signed-in admin
    const password = 'walk the two tenants apart';
    const bUser = await createUser(db, tenantB, `walk-b-${run}@example.com`, password, 'admin');
    await createUser(db, tenantA, `walk-a-${run}@example.com`, password, 'admin');
    const signIn = async (email: string) =>
      (
        (await (
          await call('/v1/auth/login', { method: 'POST', body: JSON.stringify({ email, password }) })
        ).json()) as {
          access_token: string;
        }
      ).access_token;
    await signIn(`walk-b-${run}@example.com`);
    const invited = await call('/v1/invitations', {
      method: 'POST',
      key: keys['b-admin'],
      body: JSON.stringify({ email: `walk-invited-${run}@example.com`, role: 'reader' }),
    });
    const bInvitation = ((await invited.json()) as { id: string }).id;
    const secrets = [
      tenantB,
      marker,
      ...bIds.keys.map((k) => k.id),
      bUser.id,
      `walk-b-${run}`,
      bInvitation,
      `walk-invited-${run}`,
    ];
    const aUser = await signIn(`walk-a-${run}@example.com`);
    // a route that needs query parameters (the ids of two training runs, say) is a 400 without them
    const needsQuery = (path: string) =>
      (doc.paths[path]!.get!.parameters ?? []).some((p) => p.in === 'query' && p.required);
    for (const [path] of routes) {
      for (const [caller, key] of [
        ['key', keys['a-admin']!],
        ['user', aUser],
      ] as const) {
        const response = await call(path, { key });
        if (needsQuery(path)) {
          assert.equal(response.status, 400, `${path} without its query parameters`);
          continue;
        }
        if (OPERATOR_ONLY.has(path)) {
          assert.equal(response.status, 403, `${path} is for operators, not a tenant's admin`);
          continue;
        }
        if (caller === 'key' && USER_ONLY.has(path)) {
          assert.equal(response.status, 403, `${path} is a user's own`);
          continue;
        }
        assert.equal(response.status, 200, `${path} as a ${caller}`);
        const text = await response.text();
        for (const secret of secrets) assert.ok(!text.includes(secret), `${path} shows tenant B's ${secret}`);
      }
    }
    const bSees = await (await call('/v1/sessions', { key: keys['b-admin'] })).text();
    assert.ok(bSees.includes(bUser.id), "B's own session is listed to B, so its absence above means something");
    const asB = await (await call('/v1/stocks', { key: keys['b-admin'] })).text();
    assert.ok(asB.includes(marker), 'the marker is visible to its own tenant, so its absence above means something');
  });
});
