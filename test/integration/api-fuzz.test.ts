/**
 * Property-based requests generated from the app's own /openapi.json: for every operation, path
 * parameters, query strings and bodies both shaped by its schemas and garbage, with keys of two
 * tenants, bad credentials and none, and Idempotency-Keys where documented — 10,000 requests in
 * process. Every response: no 5xx, an x-request-id, a JSON error `{error, message, request_id}`
 * when 4xx, and nothing of tenant B (seeded through the API first) in what anyone else gets back,
 * unless they sent it themselves; a request repeated with its own key gets its first answer again.
 */
import './hostile-env.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { sign } from 'hono/jwt';
import type { App } from '../../api/app.ts';
import { loadConfig } from '../../core/config.ts';
import { composeApi } from '../../api/compose.ts';
import type { ApiDeps } from '../../api/deps.ts';
import { jwtSecret } from '../../api/auth/secret.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { AMOUNTS } from '../../connectors/sources/finance-bulk/statements.ts';
import { TrainingFiles } from '../../connectors/sources/training-files/training-files.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { pooled } from './hostile-corpus.ts';
import {
  arbitraryOf,
  garbageBody,
  nastyString,
  operationsOf,
  type OpenApiDoc,
  type Operation,
} from './openapi-arbitraries.ts';

const TOTAL_REQUESTS = 10_000;
const OPERATIONS_AT_ONCE = 6;

const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(10);
const clickhouse = createClickHouse();
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const log = createLogger('test');
const uploads = new Uploads(db, mkdtempSync(path.join(tmpdir(), 'millrace-fuzz-')), producer, log);
const trainingFiles = new TrainingFiles(
  db,
  clickhouse,
  mkdtempSync(path.join(tmpdir(), 'millrace-fuzz-training-')),
  log,
);
let app: App;
let deps: ApiDeps;
const statuses = new Map<number, number>();

const run = randomBytes(3).toString('hex');
/**
 * The client address in-process requests present: per-IP rate limits are counted in the shared
 * Postgres, and 10,000 requests in the common bucket `ip:unknown` would rate-limit every other
 * in-process test on the machine for a minute.
 */
const ownClient = { incoming: { socket: { remoteAddress: `api-fuzz-${run}` } } };
const tenantA = `zza${run}`;
const tenantB = `zzb${run}`;
const keys: Record<string, string> = {};
const AUTHS = [
  'a_admin',
  'a_producer',
  'a_reader',
  'a_analyst',
  'b_admin',
  'b_reader',
  'none',
  'garbage',
  'forged',
] as const;
type Auth = (typeof AUTHS)[number];

/** What only tenant B has: its name, and the names and ids of what it created. */
const secretsOfB: string[] = [tenantB];
/** Ids of both tenants, fed to path parameters so that A asks for B's things by their real ids. */
const knownIds: string[] = [
  'market.quotes.raw',
  'finance.statements.raw',
  'catalog.rows.raw',
  'finance.default-probability',
  'catalog.genre',
];

async function call(
  method: string,
  url: string,
  auth: Auth,
  body?: string,
  contentType = 'application/json',
  more: Record<string, string> = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...more, 'content-type': contentType };
  if (auth !== 'none') headers.authorization = `Bearer ${keys[auth]}`;
  return app.request(url, { method, headers, body }, ownClient);
}

async function created<T>(response: Response, what: string): Promise<T> {
  const text = await response.text();
  assert.ok(response.status === 200 || response.status === 201, `seeding ${what}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Gives a tenant a taxonomy, a watched symbol, an upload, a training file and its dataset, a prediction, a key and records, through the API. */
async function seed(tenant: string, auth: Auth, secrets: string[]): Promise<void> {
  const tag = tenant;
  const symbol = `Z${tenant.slice(2).toUpperCase()}`;
  await created(
    await call(
      'PUT',
      `/v1/taxonomies/${tag}-tax`,
      auth,
      JSON.stringify({ genres: [`${tag}-genre`], attributes: { [`${tag}-group`]: [`${tag}-value`] } }),
    ),
    'taxonomy',
  );
  await created(await call('POST', '/v1/stocks', auth, JSON.stringify({ symbol })), 'stock');
  const upload = await created<{ id: string }>(
    await call('POST', `/v1/uploads?filename=${tag}.csv`, auth, `${tag}-col,title\n${tag}-cell,x\n`, 'text/csv'),
    'upload',
  );
  const statement = {
    company_id: `${tag}-co`,
    period_end: '2023-12-31',
    ...Object.fromEntries(AMOUNTS.map((a, i) => [a, 100 + i * 10])),
  };
  const prediction = await created<{ id: string }>(
    await call('POST', '/v1/predictions/annual', auth, JSON.stringify(statement)),
    'prediction',
  );
  const key = await created<{ id: string }>(
    await call('POST', '/v1/keys', auth, JSON.stringify({ role: 'reader', label: `${tag}-label` })),
    'key',
  );
  const quote = {
    id: `${tag}-quote`,
    event_time: 1_700_000_000_000,
    source: `${tag}-source`,
    symbol,
    ts: 1_700_000_000_000,
    close: 1,
  };
  await created(await call('POST', '/v1/topics/market.quotes.raw/records', auth, JSON.stringify([quote])), 'records');
  const trainingFile = await created<{ id: string }>(
    await call('POST', '/v1/training-files', auth, `${tag}-col,n\n${tag}-a,1\n${tag}-b,2\n`, 'text/csv'),
    'training file',
  );
  const dataset = `${tag}-rows`;
  await created(
    await call(
      'POST',
      '/v1/training-datasets',
      auth,
      JSON.stringify({ name: dataset, source: { file: trainingFile.id }, target: 'n', features: [`${tag}-col`] }),
    ),
    'training dataset',
  );
  const ids = [`${tag}-tax`, symbol, upload.id, `${tag}-co`, prediction.id, key.id, trainingFile.id, dataset];
  knownIds.push(...ids);
  secrets.push(...ids, `${tag}-`);
}

before(async () => {
  await Promise.all([producer.connect(), admin.connect()]);
  ({ app, deps } = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin, db, clickhouse },
    { log, checks: {}, uploads, trainingFiles },
  ));
  await createTenant(db, tenantA);
  await createTenant(db, tenantB);
  for (const role of ['admin', 'producer', 'reader', 'analyst'] as const)
    keys[`a_${role}`] = (await createKey(db, tenantA, role)).key;
  keys.b_admin = (await createKey(db, tenantB, 'admin')).key;
  keys.b_reader = (await createKey(db, tenantB, 'reader')).key;
  keys.garbage = `mr_${randomBytes(8).toString('hex')}`;
  keys.forged = await sign(
    { sub: 'key:x', tenant: tenantB, role: 'admin', kind: 'access', exp: Math.floor(Date.now() / 1000) + 600 },
    `${jwtSecret(loadConfig())}-not`,
    'HS256',
  );
  await seed(tenantB, 'b_admin', secretsOfB);
  await seed(tenantA, 'a_admin', []);
});
after(async () => {
  await deps.imageDatasets.idle(); // crawls the fuzzer started end before their connections do
  await Promise.all([producer.disconnect(), admin.disconnect(), db.end(), clickhouse.close()]);
});

interface FuzzRequest {
  auth: Auth;
  params: Record<string, string>;
  query: [string, string][];
  body: string | undefined;
  contentType: string;
  /** `fresh`: a key of its own, sent twice to see the first answer replayed */
  idempotencyKey: string | undefined;
}

/** A key no other request uses, for an operation documenting the Idempotency-Key header. */
let freshKeys = 0;
const FRESH = 'fresh';
/** Repeats answered from a kept answer. */
let replays = 0;

function requestsFor(op: Operation, doc: OpenApiDoc): fc.Arbitrary<FuzzRequest> {
  const valueOf = (schema: Parameters<typeof arbitraryOf>[0]) =>
    arbitraryOf(schema, doc).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const params = fc.record(
    Object.fromEntries(
      pathParams.map((p) => [
        p.name,
        fc.oneof(
          { weight: 3, arbitrary: valueOf(p.schema) },
          { weight: 2, arbitrary: nastyString },
          { weight: 2, arbitrary: fc.constantFrom(...knownIds) },
        ),
      ]),
    ),
  );
  const query = fc
    .tuple(
      ...queryParams.map((p) =>
        fc.option(
          fc.oneof(valueOf(p.schema), nastyString).map((v): [string, string] => [p.name, v]),
          { freq: 3 },
        ),
      ),
      fc.option(fc.tuple(fc.string({ maxLength: 10 }), nastyString), { freq: 4 }),
    )
    .map((pairs) => pairs.filter((p): p is [string, string] => p !== null));
  const [declaredType, bodySchema] = Object.entries(op.body)[0] ?? ['application/json', undefined];
  const isJson = declaredType === 'application/json';
  const shaped = bodySchema
    ? isJson
      ? arbitraryOf(bodySchema, doc).map((v) => JSON.stringify(v))
      : fc.oneof(
          fc.string({ maxLength: 300 }),
          fc
            .array(fc.array(nastyString, { maxLength: 4 }), { maxLength: 6 })
            .map((rows) => rows.map((r) => r.join(',')).join('\n')),
        )
    : fc.constant(undefined);
  const body = bodySchema
    ? fc.oneof({ weight: 3, arbitrary: shaped }, { weight: 2, arbitrary: garbageBody })
    : op.method === 'GET'
      ? fc.constant(undefined) // fetch's Request cannot carry one
      : fc.option(garbageBody, { freq: 6 }).map((b) => b ?? undefined);
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant(declaredType) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'text/plain',
        'application/json',
        '',
        'multipart/form-data; boundary=x',
        'application/json; charset=utf-16',
        'text/csv',
      ),
    },
  );
  const takesKey = op.parameters.some((p) => p.in === 'header' && p.name === 'idempotency-key');
  const idempotencyKey = takesKey
    ? fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 3, arbitrary: fc.constant(FRESH) },
        // any ASCII a header can carry (no NUL, CR or LF), valid or not
        {
          weight: 1,
          arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 300 }).filter((k) => !/[\0\r\n]/.test(k)),
        },
      )
    : fc.constant(undefined);
  return fc.record({ auth: fc.constantFrom(...AUTHS), params, query, body, contentType, idempotencyKey });
}

function urlOf(op: Operation, request: FuzzRequest): string {
  // every UTF-8 byte percent-encoded: encodeURIComponent throws on lone surrogates, which are fuzz too
  const encode = (v: string) => [...Buffer.from(v, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  const pathPart = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encode(request.params[name] ?? ''));
  const search = new URLSearchParams(request.query).toString();
  return search ? `${pathPart}?${search}` : pathPart;
}

/** The response's text; of an event stream, what arrives in its first half second. */
async function textOf(response: Response): Promise<string> {
  if (!response.headers.get('content-type')?.includes('text/event-stream')) return response.text();
  const reader = response.body!.getReader();
  let text = '';
  const deadline = Date.now() + 500;
  while (Date.now() < deadline) {
    const next = await Promise.race([
      reader.read(),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), deadline - Date.now())),
    ]);
    if (!next || next.done) break;
    text += Buffer.from(next.value).toString('utf8');
  }
  await reader.cancel();
  return text;
}

/** The properties every response must have; the first one broken, or undefined. */
async function violation(op: Operation, request: FuzzRequest): Promise<string | undefined> {
  const url = urlOf(op, request);
  const key = request.idempotencyKey === FRESH ? `fuzz-${run}-${++freshKeys}` : request.idempotencyKey;
  const send = () =>
    call(
      op.method,
      url,
      request.auth,
      request.body,
      request.contentType,
      key === undefined ? {} : { 'idempotency-key': key },
    );
  const response = await send();
  const text = await textOf(response);
  statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
  const where = `${op.method} ${url.slice(0, 300)} as ${request.auth} (${request.contentType}, body ${JSON.stringify(request.body?.slice(0, 200))})`;
  if (response.status >= 500) return `${response.status} for ${where}: ${text.slice(0, 300)}`;
  if (!response.headers.get('x-request-id')) return `no x-request-id for ${where}`;
  if (response.status >= 400) {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return `a ${response.status} that is not JSON for ${where}: ${text.slice(0, 200)}`;
    }
    if (typeof body.error !== 'string' || typeof body.message !== 'string' || typeof body.request_id !== 'string')
      return `a ${response.status} without {error, message, request_id} for ${where}: ${text.slice(0, 200)}`;
  }
  if (!request.auth.startsWith('b_')) {
    const sent = `${url} ${Object.values(request.params).join(' ')} ${request.query.flat().join(' ')} ${request.body ?? ''}`;
    const leaked = secretsOfB.find((secret) => text.includes(secret) && !sent.includes(secret));
    if (leaked) return `tenant B's "${leaked}" in the ${response.status} answer to ${where}: ${text.slice(0, 300)}`;
  }
  // a request repeated with its own key: the first answer again, marked as replayed; unless that was given
  // before the key was looked at (credentials, role, rate or body limit, no such route, the key refused)
  if (request.idempotencyKey === FRESH) {
    const again = await send();
    const againText = await textOf(again);
    const replayed = again.headers.get('idempotent-replayed') === 'true';
    if (replayed) replays += 1;
    const unkept =
      [401, 403, 404, 408, 413, 429].includes(response.status) || text.includes('"field":"idempotency-key"');
    if (replayed ? again.status !== response.status || againText !== text : again.status !== response.status || !unkept)
      return `a repeat with Idempotency-Key ${key} answered ${again.status} ${againText.slice(0, 200)} (replayed: ${replayed}), the first ${response.status} ${text.slice(0, 200)}, for ${where}`;
  }
  return undefined;
}

describe('API fuzzing from /openapi.json', () => {
  it("the leak check sees tenant B's data where B itself looks", async () => {
    const own = await (await call('GET', '/v1/keys', 'b_admin')).text();
    assert.ok(
      secretsOfB.some((secret) => own.includes(secret)),
      own.slice(0, 300),
    );
    const other = await (await call('GET', '/v1/keys', 'a_admin')).text();
    assert.ok(!secretsOfB.some((secret) => other.includes(secret)), other.slice(0, 300));
  });

  it(`${TOTAL_REQUESTS} generated requests: no 5xx, request ids, JSON errors, no other tenant's data`, async (t) => {
    const doc = (await (await app.request('/openapi.json', {}, ownClient)).json()) as OpenApiDoc;
    const operations = operationsOf(doc);
    assert.ok(operations.length >= 30, `${operations.length} operations in /openapi.json`);
    const runsEach = Math.ceil(TOTAL_REQUESTS / operations.length);
    let sent = 0;
    // every operation runs its share even when another one failed: one run reports all of them
    const failures = await pooled(operations, OPERATIONS_AT_ONCE, async (op) => {
      try {
        await fc.assert(
          fc.asyncProperty(requestsFor(op, doc), async (request) => {
            sent += 1;
            const problem = await violation(op, request);
            if (problem) throw new Error(problem);
          }),
          { numRuns: runsEach, endOnFailure: true },
        );
        return undefined;
      } catch (error) {
        return `${op.method} ${op.path}: ${((error as Error).cause as Error | undefined)?.message ?? (error as Error).message}`;
      }
    });
    assert.deepEqual(failures.filter(Boolean), [], 'operations whose responses broke a property');
    t.diagnostic(
      `${sent} requests over ${operations.length} operations; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}; ${replays} repeats replayed`,
    );
    assert.ok(sent >= TOTAL_REQUESTS, `${sent} requests`);
    assert.ok(replays >= 100, `${replays} repeats with an Idempotency-Key replayed`);
    assert.ok(
      [...statuses].some(([status, n]) => status < 300 && n > TOTAL_REQUESTS / 20),
      'a good share of the requests got through to the logic',
    );
  });
});
