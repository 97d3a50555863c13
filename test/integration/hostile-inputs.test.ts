/**
 * Walks the hostile-input corpus (test/fixtures/hostile): every case through its entry point —
 * uploads, training files, POST /v1/topics/{topic}/records, other API routes, raw bytes on Kafka
 * under a running processor, crawl targets, and a real HTTP socket — and checks its outcome exactly. After every
 * batch the platform must still serve (healthz, a valid record accepted) and keep what it had
 * already accepted; at the end every accepted record is read back from Kafka.
 */
import './hostile-env.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { sign } from 'hono/jwt';
import type { App } from '../../api/app.ts';
import { composeApi } from '../../api/compose.ts';
import type { ApiDeps } from '../../api/deps.ts';
import { createKey, createTenant, revokeKey } from '../../api/auth/accounts.ts';
import { jwtSecret } from '../../api/auth/secret.ts';
import { listen } from '../../api/listen.ts';
import { runCrawl } from '../../connectors/sources/crawler/crawl.ts';
import { FetchLog } from '../../domain/crawl/fetch-log.ts';
import { FetchError, Fetcher } from '../../domain/crawl/fetcher.ts';
import { AMOUNTS } from '../../connectors/sources/finance-bulk/statements.ts';
import { TrainingFiles } from '../../connectors/sources/training-files/training-files.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { loadCatalogue } from '../../core/catalogue.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { readDlqContext } from '../../core/dlq.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { processorGroupOf, runProcessor } from '../../processors/runtime/index.ts';
import { passthrough } from '../../processors/passthrough/index.ts';
import { parsePage } from '../../domain/market/parse-page.ts';
import { build } from '../fixtures/hostile/payload.ts';
import {
  batches,
  casesOf,
  loadCorpus,
  pooled,
  type BulkCase,
  type CrawlCase,
  type FeedCase,
  type HttpCase,
  type HttpExpect,
  type KafkaCase,
  type RecordsCase,
  type SocketCase,
  type TrainingFileCase,
  type UploadCase,
} from './hostile-corpus.ts';
import { eventually, flights } from '../../testkit/helpers.ts';
import { readCommitted, topicPair, waitForCommitted } from '../../testkit/processor-helpers.ts';

const corpus = loadCorpus();
const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(6);
const clickhouse = createClickHouse();
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const log = createLogger('test');
const uploads = new Uploads(db, mkdtempSync(path.join(tmpdir(), 'millrace-hostile-')), producer, log);
const trainingFiles = new TrainingFiles(
  db,
  clickhouse,
  mkdtempSync(path.join(tmpdir(), 'millrace-hostile-training-')),
  log,
);
const topics = loadCatalogue();
const QUOTES = 'market.quotes.raw';

const run = randomBytes(3).toString('hex');
const tenantA = `ha-${run}`;
const tenantB = `hb-${run}`;
const keys: Record<string, string> = {};
const tokens: Record<string, string> = {};
let app: App;
let deps: ApiDeps;
let sequence = 0;
/**
 * The client address in-process requests present: per-IP rate limits are counted in the shared
 * Postgres, and without one every in-process request on the machine shares the bucket `ip:unknown`.
 */
const ownClient = { incoming: { socket: { remoteAddress: `hostile-test-${run}` } } };

/** Everything the platform said it accepted: must still be there at the end. */
const acceptedRecords: { topic: string; id: string; partition: number; offset: string }[] = [];
const acceptedUploads = new Map<string, { bytes: number }>();

const quote = (id = `hostile-${run}-${++sequence}`) => ({
  id,
  event_time: 1_700_000_000_000,
  source: 'hostile-test',
  symbol: 'IBM',
  ts: 1_700_000_000_000,
  open: null,
  high: null,
  low: null,
  close: 100.25,
  volume: null,
});

before(async () => {
  await Promise.all([producer.connect(), admin.connect()]);
  ({ app, deps } = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin, db, clickhouse },
    { log, checks: {}, topics, uploads, trainingFiles },
  ));
  await createTenant(db, tenantA);
  await createTenant(db, tenantB);
  for (const role of ['admin', 'producer', 'reader'] as const)
    keys[`a_${role}`] = (await createKey(db, tenantA, role)).key;
  keys.b_producer = (await createKey(db, tenantB, 'producer')).key;
  keys.operator = (await createKey(db, tenantB, 'operator')).key;
  const revoked = await createKey(db, tenantA, 'reader');
  await revokeKey(db, tenantA, revoked.id);
  keys.revoked = revoked.key;

  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: 'key:hostile', tenant: tenantA, role: 'reader', kind: 'access', iat: now, exp: now + 600 };
  const issued = await deps.tokens.issue(
    { subject: 'key:hostile', tenantId: tenantA, role: 'reader' },
    { id: 'hostile', refreshJti: 'hostile' },
  );
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  Object.assign(tokens, {
    $key_a: keys.a_reader!,
    $key_b: keys.b_producer!,
    $revoked_key: keys.revoked,
    $tampered_key: `${keys.a_reader!.slice(0, -4)}AAAA`,
    $long_key: `mr_${'a'.repeat(12 * 1024)}`,
    $long_token: 'e'.repeat(12 * 1024),
    $alg_none_jwt: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
    $forged_jwt: await sign(claims, 'not-the-secret-not-the-secret-not-the-secret', 'HS256'),
    $expired_jwt: await sign({ ...claims, iat: now - 7200, exp: now - 3600 }, jwtSecret(loadConfig()), 'HS256'),
    $refresh_jwt: issued.refresh_token,
    $access_jwt: issued.access_token,
    $no_claims_jwt: await sign({ kind: 'access', exp: now + 600 }, jwtSecret(loadConfig()), 'HS256'),
    $bad_role_jwt: await sign({ ...claims, role: 'root' }, jwtSecret(loadConfig()), 'HS256'),
    $hs512_jwt: await sign(claims, jwtSecret(loadConfig()), 'HS512'),
    // Idempotency-Keys are the tenant's for 24 hours: each run uses its own
    $run: run,
    $long_idempotency_key: 'k'.repeat(256),
  });
});
after(async () => {
  await deps.imageDatasets.idle(); // crawls the corpus started (an empty dataset's) end before their pool does
  await Promise.all([producer.disconnect(), admin.disconnect(), db.end(), clickhouse.close()]);
});

const withTokens = (text: string) => text.replace(/\$[a-z0-9_]+/g, (name) => tokens[name] ?? name);

async function request(
  method: string,
  url: string,
  init: { key?: string; headers?: Record<string, string>; body?: RequestInit['body']; contentType?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
    ...init.headers,
  };
  if (init.contentType) headers['content-type'] = init.contentType;
  return app.request(url, { method, headers, body: init.body }, ownClient);
}

/** The query of a file upload: its name and declared charset, when the case has them. */
function fileQuery(c: { filename?: string; charset?: string }): string {
  const params = new URLSearchParams();
  if (c.filename !== undefined) params.set('filename', c.filename);
  if (c.charset !== undefined) params.set('charset', c.charset);
  return params.size > 0 ? `?${params}` : '';
}

/** Compares a response with its expected outcome; returns the differences, none when it matches. */
async function differences(
  response: Response,
  expect: HttpExpect | null,
): Promise<{ problems: string[]; body: unknown }> {
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // checked below: an error must be JSON
  }
  const problems: string[] = [];
  if (!expect)
    return { problems: [`no expected outcome in the corpus; got ${response.status} ${text.slice(0, 300)}`], body };
  if (response.status !== expect.status)
    problems.push(`status ${response.status}, expected ${expect.status}: ${text.slice(0, 300)}`);
  if (!response.headers.get('x-request-id')) problems.push('no x-request-id');
  if (response.status >= 400) {
    if (typeof body.error !== 'string' || typeof body.message !== 'string' || typeof body.request_id !== 'string')
      problems.push(`not a JSON error: ${text.slice(0, 200)}`);
    if (expect.error !== undefined && body.error !== expect.error)
      problems.push(`error ${String(body.error)}, expected ${expect.error}`);
    if (expect.field !== undefined && body.field !== expect.field)
      problems.push(`field ${String(body.field)}, expected ${expect.field}`);
    if (expect.message !== undefined && !String(body.message).includes(expect.message))
      problems.push(`message "${String(body.message)}" lacks "${expect.message}"`);
  }
  if (expect.filename !== undefined && body.filename !== expect.filename)
    problems.push(`filename ${String(body.filename)}, expected ${expect.filename}`);
  if (expect.encoding !== undefined && body.encoding !== expect.encoding)
    problems.push(`encoding ${String(body.encoding)}, expected ${expect.encoding}`);
  return { problems, body };
}

/** Checks the outcome of one batch: every case as expected. */
function assertBatch(outcomes: { id: string; problems: string[] }[]): void {
  const failed = outcomes.filter((o) => o.problems.length > 0).map((o) => `${o.id}: ${o.problems.join('; ')}`);
  assert.deepEqual(failed, [], `cases with another outcome than expected:\n${failed.join('\n')}`);
}

/** The platform still serves and still holds what it accepted. */
async function stillServes(): Promise<void> {
  assert.equal((await request('GET', '/healthz')).status, 200, 'healthz');
  const control = quote();
  const response = await request('POST', `/v1/topics/${QUOTES}/records`, {
    key: keys.a_producer,
    body: JSON.stringify([control]),
    contentType: 'application/json',
  });
  assert.equal(response.status, 200, 'a valid record is still accepted');
  const { results } = (await response.json()) as { results: { id: string; partition: number; offset: string }[] };
  assert.ok(results[0] && 'offset' in results[0], 'the valid record got an offset');
  acceptedRecords.push({ topic: QUOTES, id: control.id, partition: results[0].partition, offset: results[0].offset });
  const ends = new Map<string, bigint>();
  for (const topic of new Set(acceptedRecords.map((r) => r.topic))) {
    for (const p of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}:${p.partition}`, BigInt(p.high));
  }
  const missing = acceptedRecords.filter((r) => BigInt(r.offset) >= (ends.get(`${r.topic}:${r.partition}`) ?? 0n));
  assert.deepEqual(missing, [], 'every accepted record is below its partition end');
  const gone = await pooled([...acceptedUploads], 4, async ([id, { bytes }]) => {
    const upload = await request('GET', `/v1/uploads/${id}`, { key: keys.a_reader });
    return upload.status === 200 && ((await upload.json()) as { bytes: number }).bytes === bytes ? undefined : id;
  });
  assert.deepEqual(gone.filter(Boolean), [], 'every accepted upload is still there');
}

describe('hostile inputs', () => {
  it(`the corpus has at least 200 cases, each entry point covered`, () => {
    const counts = Object.fromEntries(
      ['upload', 'training-file', 'bulk', 'records', 'http', 'kafka', 'crawl', 'socket', 'feed'].map((e) => [
        e,
        corpus.filter((c) => c.entry === e).length,
      ]),
    );
    log.info({ counts, total: corpus.length }, 'hostile corpus');
    assert.ok(corpus.length >= 200, `${corpus.length} cases`);
    assert.ok(
      Object.values(counts).every((n) => n > 0),
      JSON.stringify(counts),
    );
  });

  describe('market feed responses through the market parser', () => {
    /** What parsing the case's response gives, or the differences from what it should. */
    function runFeed(c: FeedCase): { id: string; problems: string[] } {
      const page = {
        id: c.id,
        tenant_id: tenantA,
        event_time: Date.now(),
        source: 'market-retriever',
        symbol: 'SPX',
        kind: 'history' as const,
        url: `https://feeds.example/${c.id}`,
        status: 200,
        content_type: 'text/csv',
        body_gzip: gzipSync(build(c.body)),
        feed: c.format,
      };
      let outcome: string;
      try {
        const quotes = parsePage(page);
        if ('error' in c.expect) outcome = `${quotes.length} bars`;
        else if (quotes.length !== c.expect.bars) outcome = `${quotes.length} bars, expected ${c.expect.bars}`;
        else if (quotes.some((q) => !(q.close > 0))) outcome = 'a bar without a positive close';
        else if (c.expect.first_close !== undefined && quotes[0]?.close !== c.expect.first_close)
          outcome = `first close ${quotes[0]?.close}, expected ${c.expect.first_close}`;
        else return { id: c.id, problems: [] };
      } catch (error) {
        const { name, message } = error as Error;
        if ('error' in c.expect && name === c.expect.error && message.includes(c.expect.message))
          return { id: c.id, problems: [] };
        outcome = `${name}: ${message}`;
      }
      return { id: c.id, problems: [`${outcome}; expected ${JSON.stringify(c.expect)}`] };
    }

    it(`${casesOf(corpus, 'feed').length} responses: bars, or refused naming what is missing`, () => {
      assertBatch(casesOf(corpus, 'feed').map(runFeed));
    });
  });

  describe('uploads', () => {
    async function runUpload(c: UploadCase): Promise<{ id: string; problems: string[] }> {
      const query = fileQuery(c);
      const response = await request('POST', `/v1/uploads${query}`, {
        key: keys.a_producer,
        body: build(c.body),
        contentType: c.content_type ?? 'text/csv',
      });
      const { problems, body } = await differences(response, c.expect);
      if (problems.length > 0 || response.status !== 201) return { id: c.id, problems };
      const upload = body as { id: string; bytes: number };
      acceptedUploads.set(upload.id, { bytes: upload.bytes });
      if (!c.rows) return { id: c.id, problems };
      // ["*"]: every column of the file
      const columns =
        c.rows.columns.join() === '*'
          ? (
              (await (await request('GET', `/v1/uploads/${upload.id}/columns`, { key: keys.a_reader })).json()) as {
                columns: { name: string }[];
              }
            ).columns.map((col) => col.name)
          : c.rows.columns;
      const started = await request('POST', `/v1/uploads/${upload.id}/process`, {
        key: keys.a_producer,
        body: JSON.stringify({ columns }),
        contentType: 'application/json',
      });
      if (started.status !== 202) return { id: c.id, problems: [`process: ${started.status} ${await started.text()}`] };
      const done = await eventually(
        `${c.id} processed`,
        async () => {
          const state = (await (await request('GET', `/v1/uploads/${upload.id}`, { key: keys.a_reader })).json()) as {
            state: string;
            published_rows: number;
            rejected_rows: number;
            error: string | null;
          };
          return state.state === 'processed' || state.state === 'failed' ? state : undefined;
        },
        60_000,
      );
      if (done.state !== 'processed') problems.push(`state ${done.state}: ${done.error}`);
      if (done.published_rows !== c.rows.published || done.rejected_rows !== c.rows.rejected) {
        problems.push(
          `published ${done.published_rows} rejected ${done.rejected_rows}, expected ${c.rows.published} and ${c.rows.rejected}`,
        );
      }
      if (c.rows.reason) {
        const { rejections } = (await (
          await request('GET', `/v1/uploads/${upload.id}/rejections?limit=1000`, { key: keys.a_reader })
        ).json()) as { rejections: { reason: string }[] };
        if (!rejections.some((r) => r.reason.includes(c.rows!.reason!)))
          problems.push(`no rejection says "${c.rows.reason}": ${JSON.stringify(rejections.map((r) => r.reason))}`);
      }
      return { id: c.id, problems };
    }

    for (const [i, batch] of batches(casesOf(corpus, 'upload'), 15).entries()) {
      it(`batch ${i + 1}: ${batch.map((c) => c.id.replace('upload-', '')).join(', ')}`, async () => {
        assertBatch(await pooled(batch, 3, runUpload));
        assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
        await stillServes();
      });
    }
  });

  describe('POST /v1/training-files', () => {
    async function runTrainingFile(c: TrainingFileCase): Promise<{ id: string; problems: string[] }> {
      const response = await request('POST', `/v1/training-files${c.query ?? ''}`, {
        key: keys.a_admin,
        body: build(c.body),
        contentType: c.content_type ?? 'text/csv',
      });
      const { problems, body } = await differences(response, c.expect);
      if (problems.length > 0 || !c.inspection) return { id: c.id, problems };
      const { id } = body as { id: string };
      const found = (await (
        await request('GET', `/v1/training-files/${id}/columns`, { key: keys.a_reader })
      ).json()) as {
        rows: number;
        bad_rows: number;
        bad: { reason: string }[];
        columns: { name: string }[];
      };
      const wanted = c.inspection;
      if (found.rows !== wanted.rows || found.bad_rows !== wanted.bad_rows)
        problems.push(`rows ${found.rows} bad ${found.bad_rows}, expected ${wanted.rows} and ${wanted.bad_rows}`);
      const names = found.columns.map((col) => col.name);
      if (JSON.stringify(names) !== JSON.stringify(wanted.columns))
        problems.push(`columns ${JSON.stringify(names)}, expected ${JSON.stringify(wanted.columns)}`);
      if (wanted.reason && !found.bad.some((b) => b.reason.includes(wanted.reason!)))
        problems.push(`no bad row says "${wanted.reason}": ${JSON.stringify(found.bad)}`);
      return { id: c.id, problems };
    }

    for (const [i, batch] of batches(casesOf(corpus, 'training-file'), 15).entries()) {
      it(`batch ${i + 1}: ${batch.map((c) => c.id.replace('tfile-', '')).join(', ')}`, async () => {
        assertBatch(await pooled(batch, 3, runTrainingFile));
        assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
        await stillServes();
      });
    }
  });

  describe('POST /v1/predictions/bulk', () => {
    async function runBulk(c: BulkCase): Promise<{ id: string; problems: string[] }> {
      const query = fileQuery(c);
      const response = await request('POST', `/v1/predictions/bulk${query}`, {
        key: keys.a_producer,
        body: build(c.body),
        contentType: c.content_type ?? 'text/csv',
      });
      const { problems, body } = await differences(response, c.expect);
      if (problems.length > 0 || !c.job) return { id: c.id, problems };
      const { id } = body as { id: string };
      // read and published: the scores come from the finance pipeline, not running here
      const job = await eventually(
        `${c.id} read`,
        async () => {
          const state = (await (await request('GET', `/v1/jobs/${id}`, { key: keys.a_reader })).json()) as {
            state: string;
            accepted: number;
            rejected: number;
            error: string | null;
            rejections: { field: string | null; reason: string }[];
          };
          return state.state === 'publishing' ? undefined : state;
        },
        60_000,
      );
      if (job.state === 'failed') problems.push(`failed: ${job.error}`);
      if (job.accepted !== c.job.accepted || job.rejected !== c.job.rejected)
        problems.push(
          `accepted ${job.accepted} rejected ${job.rejected}, expected ${c.job.accepted} and ${c.job.rejected}`,
        );
      const reason = c.job.reason;
      if (reason && !job.rejections.some((r) => r.field === reason || r.reason.includes(reason)))
        problems.push(`no refusal names "${reason}": ${JSON.stringify(job.rejections)}`);
      return { id: c.id, problems };
    }

    for (const [i, batch] of batches(casesOf(corpus, 'bulk'), 15).entries()) {
      it(`batch ${i + 1}: ${batch.map((c) => c.id.replace('bulk-', '')).join(', ')}`, async () => {
        assertBatch(await pooled(batch, 3, runBulk));
        await stillServes();
      });
    }
  });

  describe('POST /v1/topics/{topic}/records', () => {
    function recordsBody(c: RecordsCase): Buffer {
      if (c.body) return build(c.body);
      const markers: [string, string][] = [];
      const mark = (literal: string) => {
        const marker = `__hostile_marker_${markers.length}__`;
        markers.push([marker, literal]);
        return marker;
      };
      const expand = (value: unknown): unknown => {
        if (typeof value === 'string')
          return value === '$tenant_a'
            ? tenantA
            : value === '$tenant_b'
              ? tenantB
              : value === '$same'
                ? `hostile-${run}-same-${c.id}`
                : value === '$shared'
                  ? `hostile-${run}-shared` // one id across cases, and so across tenants
                  : value;
        if (value && typeof value === 'object' && '$repeat' in value) {
          const { $repeat, count } = value as { $repeat: string; count: number };
          return $repeat.repeat(count);
        }
        return value;
      };
      const records = (c.records ?? [{}]).map((changes) => {
        if ('$raw' in changes) return changes.$raw;
        const record: Record<string, unknown> = c.base ? quote() : {};
        for (const [field, value] of Object.entries(changes)) {
          if (field === '$drop') for (const name of value as string[]) delete record[name];
          else if (field === '$deep') {
            const { field: name, depth } = value as { field: string; depth: number };
            record[name] = mark(`${'['.repeat(depth)}${']'.repeat(depth)}`);
          } else record[field] = expand(value);
        }
        for (const [field, literal] of Object.entries(c.body_numbers ?? {})) record[field] = mark(literal);
        return record;
      });
      let text = JSON.stringify(records);
      if (c.body_raw_field) text = text.replace(/^\[\{/, `[{${c.body_raw_field},`);
      for (const [marker, literal] of markers) text = text.replace(`"${marker}"`, literal);
      return Buffer.from(text);
    }

    async function runRecords(c: RecordsCase): Promise<{ id: string; problems: string[] }> {
      const response = await request('POST', `/v1/topics/${c.topic ?? QUOTES}/records`, {
        key: keys[c.auth ?? 'a_producer'],
        body: recordsBody(c),
        contentType: c.content_type ?? 'application/json',
      });
      const { problems, body } = await differences(response, c.expect);
      if (response.status === 200) {
        const results = (body as { results: ({ id: string; partition: number; offset: string } | { field: string })[] })
          .results;
        for (const r of results)
          if ('offset' in r)
            acceptedRecords.push({ topic: c.topic ?? QUOTES, id: r.id, partition: r.partition, offset: r.offset });
        const seen = results.map((r) => ('offset' in r ? 'ok' : `field:${r.field}`));
        if (c.expect.results && JSON.stringify(seen) !== JSON.stringify(c.expect.results))
          problems.push(`results ${JSON.stringify(seen)}, expected ${JSON.stringify(c.expect.results)}`);
      }
      return { id: c.id, problems };
    }

    for (const [i, batch] of batches(casesOf(corpus, 'records'), 20).entries()) {
      it(`batch ${i + 1}: ${batch.map((c) => c.id.replace('records-', '')).join(', ')}`, async () => {
        assertBatch(await pooled(batch, 4, runRecords));
        await stillServes();
      });
    }
  });

  describe('other routes: auth, paths, queries, bodies', () => {
    const statement = (changes: Record<string, unknown> = {}) => {
      const { $all_amounts: all, ...rest } = changes;
      const amounts = Object.fromEntries(AMOUNTS.map((a, i) => [a, all === undefined ? 100 + i * 10 : all]));
      return { company_id: `hostile-${run}-${++sequence}`, period_end: '2023-12-31', ...amounts, ...rest };
    };
    const expandJson = (value: unknown): string => {
      const deep: string[] = [];
      const text = JSON.stringify(value, (_key, v: unknown) => {
        if (v && typeof v === 'object' && !Array.isArray(v)) {
          const o = v as Record<string, unknown>;
          if ('$repeat' in o) return String(o.$repeat).repeat(Number(o.count));
          if ('$deep' in o) {
            deep.push(`${'['.repeat(Number(o.$deep))}${']'.repeat(Number(o.$deep))}`);
            return `__deep_${deep.length - 1}__`;
          }
          if ('$statement' in o) return statement(o.$statement as Record<string, unknown>);
        }
        return typeof v === 'string' ? withTokens(v) : v;
      });
      return deep.reduce((t, d, i) => t.replace(`"__deep_${i}__"`, d), text);
    };

    async function runHttp(c: HttpCase): Promise<{ id: string; problems: string[] }> {
      let body: string | undefined = c.body;
      if (c.json !== undefined) body = expandJson(c.json);
      if (c.body_statement_number)
        body = JSON.stringify(statement()).replace(/"total_assets":[^,]+/, `"total_assets":${c.body_statement_number}`);
      const auth = c.auth ?? 'a_reader';
      const headers = Object.fromEntries(Object.entries(c.headers ?? {}).map(([k, v]) => [k, withTokens(v)]));
      if (c.first) {
        const firstBody = c.first.json === undefined ? c.first.body : expandJson(c.first.json);
        const first = await request(c.first.method ?? c.method, c.first.path ?? c.path, {
          key: keys[c.first.auth ?? auth],
          headers,
          body: firstBody,
          contentType: c.content_type ?? (firstBody === undefined ? undefined : 'application/json'),
        });
        if (first.status !== c.first.status)
          return {
            id: c.id,
            problems: [`first request: ${first.status}, expected ${c.first.status}: ${await first.text()}`],
          };
        if (c.first.capture) tokens[c.first.capture] = ((await first.json()) as { id: string }).id;
      }
      const response = await request(c.method, withTokens(c.path), {
        key: auth === 'none' ? undefined : keys[auth],
        headers,
        body,
        contentType: c.content_type ?? (body === undefined ? undefined : 'application/json'),
      });
      const { problems } = await differences(response, c.expect);
      return { id: c.id, problems };
    }

    for (const [i, batch] of batches(casesOf(corpus, 'http'), 20).entries()) {
      it(`batch ${i + 1}: ${batch.map((c) => c.id.replace('http-', '')).join(', ')}`, async () => {
        assertBatch(await pooled(batch, 4, runHttp));
        await stillServes();
      });
    }
  });

  describe('raw bytes on Kafka under a running processor', () => {
    it('every case lands in <topic>.dlq with its reason; the good records around them flow', async () => {
      const cases = casesOf(corpus, 'kafka');
      const { input, output } = await topicPair('hostile', 1, 1);
      const good = flights(2 * cases.length + 2).map((f, i) => ({ ...f, id: `good-${i}` }));
      const flightBody = (await registry.encode(input.subject, good[0]!)).subarray(5);
      const schemaId = async (name: number | string) => {
        const id = typeof name === 'number' ? name : await registry.latestId(name === 'input' ? input.subject : name);
        const bytes = Buffer.alloc(4);
        bytes.writeInt32BE(id);
        return bytes;
      };
      const valueOf = async (c: KafkaCase): Promise<Buffer | null> => {
        if (c.value === null) return null;
        const parts = await Promise.all(
          c.value.map(async (part) => {
            if ('schema_id' in part) return schemaId(part.schema_id);
            if ('flight_avro' in part) {
              const { keep, keep_bytes: keepBytes, drop_last: dropLast } = part.flight_avro;
              const end =
                keepBytes ??
                (keep !== undefined ? Math.floor(flightBody.length * keep) : flightBody.length - (dropLast ?? 0));
              return flightBody.subarray(0, end);
            }
            return build([part]);
          }),
        );
        return Buffer.concat(parts);
      };

      const spec = passthrough({ input: input.name, output: output.name });
      const processor = await runProcessor(spec, { kafka, registry });
      try {
        const raw = kafka.producer();
        await raw.connect();
        try {
          // each poison record between two good ones, all on one partition: neighbours must flow
          for (const [i, c] of cases.entries()) {
            await producer.send(input.name, [{ value: good[2 * i]! }]);
            await raw.send({ topic: input.name, messages: [{ key: c.id, value: await valueOf(c), partition: 0 }] });
            await producer.send(input.name, [{ value: good[2 * i + 1]! }]);
          }
        } finally {
          await raw.disconnect();
        }
        await waitForCommitted(kafka, processorGroupOf(spec.name), input.name, 3 * cases.length);
      } finally {
        await processor.stop();
      }
      const passed = (await readCommitted(kafka, output.name)).map((r) => r.key);
      assert.equal(passed.length, 2 * cases.length, 'only the good records passed');
      const dead = new Map(
        (await readCommitted(kafka, `${input.name}.dlq`)).map((r) => [r.key, readDlqContext(r.headers)]),
      );
      const outcomes = cases.map((c) => {
        const context = dead.get(c.id);
        const problems: string[] = [];
        if (!context) problems.push('not in the DLQ');
        else {
          if (context.errorClass !== c.expect.dlq.class)
            problems.push(`class ${context.errorClass}, expected ${c.expect.dlq.class} (${context.errorMessage})`);
          if (!context.errorMessage.includes(c.expect.dlq.message))
            problems.push(`message "${context.errorMessage}" lacks "${c.expect.dlq.message}"`);
          if (context.sourceTopic !== input.name) problems.push(`source topic ${context.sourceTopic}`);
        }
        return { id: c.id, problems };
      });
      assertBatch(outcomes);
      assert.equal(dead.size, cases.length, 'nothing else in the DLQ');
      await stillServes();
    });
  });

  describe('crawl targets', () => {
    let target: Server;
    let port = 0;
    const fetchLog = new FetchLog(clickhouse);
    const links = [
      'http://169.254.169.254/',
      'file:///etc/passwd',
      'http://[::1]/',
      'javascript:alert(1)',
      'not a url',
      'http://10.0.0.1/',
    ];

    before(async () => {
      target = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://target');
        if (url.pathname === '/redirect')
          res.writeHead(302, { location: (url.searchParams.get('to') ?? '/').replace('$port', String(port)) }).end();
        else if (url.pathname === '/page')
          res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>a page</body></html>');
        else if (url.pathname === '/links')
          res.writeHead(200, { 'content-type': 'text/html' }).end(links.map((l) => `<a href="${l}">x</a>`).join(''));
        else res.writeHead(404, { 'content-type': 'text/plain' }).end('no');
      });
      await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
      port = (target.address() as { port: number }).port;
    });
    after(async () => {
      await fetchLog.flush();
      await new Promise((resolve) => target.close(resolve));
    });

    async function runCrawlCase(c: CrawlCase): Promise<{ id: string; problems: string[] }> {
      const url = c.url.replaceAll('$port', String(port));
      const fetcher = new Fetcher({
        crawl: `hostile-${run}`,
        log: fetchLog,
        logger: log,
        retries: 0,
        timeoutMs: 3000,
        ratePerSecondPerHost: 0,
        ...(c.allowed === 'config' ? {} : { allowedHosts: c.allowed ?? [] }),
      });
      const problems: string[] = [];
      if (c.via === 'crawl') {
        const report = await runCrawl({
          crawl: `hostile-${run}-${c.id}`,
          fetcher,
          log: fetchLog,
          seeds: [url],
          onPage: async (page) => [...page.body.toString().matchAll(/href="([^"]*)"/g)].map((m) => m[1]!),
        });
        const refused = report.failed.filter((f) => f.outcome === 'refused').length;
        if (report.fetched !== 1 || refused !== c.expect.refused_links)
          problems.push(`fetched ${report.fetched}, refused ${refused}: ${JSON.stringify(report.failed)}`);
        return { id: c.id, problems };
      }
      try {
        const page = await fetcher.fetch(url);
        if (c.expect.outcome !== 'ok') problems.push(`fetched (${page.status}), expected ${c.expect.outcome}`);
      } catch (error) {
        if (!(error instanceof FetchError)) problems.push(`not a FetchError: ${String(error)}`);
        else if (error.outcome !== c.expect.outcome)
          problems.push(`outcome ${error.outcome} (${error.message}), expected ${c.expect.outcome}`);
        else if (c.expect.message && !error.message.includes(c.expect.message))
          problems.push(`message "${error.message}" lacks "${c.expect.message}"`);
      }
      return { id: c.id, problems };
    }

    it('the allowance is explicit configuration: CRAWL_ALLOWED_HOSTS as set by this test', () => {
      assert.deepEqual(loadConfig().CRAWL_ALLOWED_HOSTS, ['127.0.0.1']);
    });

    for (const [i, batch] of batches(casesOf(corpus, 'crawl'), 25).entries()) {
      it(`batch ${i + 1}: ${batch.map((c) => c.id.replace('crawl-', '')).join(', ')}`, async () => {
        const before = target.listenerCount('request');
        assertBatch(await pooled(batch, 4, runCrawlCase));
        assert.equal(target.listenerCount('request'), before);
        await stillServes();
      });
    }
  });

  describe('the HTTP server over a real socket', () => {
    let server: Server;
    let port = 0;
    before(async () => {
      server = await listen(app.fetch, {
        hostname: '127.0.0.1',
        port: 0,
        requestTimeoutMs: loadConfig().API_REQUEST_TIMEOUT_MS,
      });
      port = (server.address() as { port: number }).port;
    });
    after(() => new Promise((resolve) => server.close(resolve)));

    /** Writes `head`, then `trickle` one piece at a time every `everyMs`; resolves with what came back and when the socket closed. */
    function exchange(head: string, trickle: string[] = [], everyMs = 500): Promise<{ response: string; ms: number }> {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const socket = connect(port, '127.0.0.1');
        let response = '';
        let timer: NodeJS.Timeout | undefined;
        const pending = [...trickle];
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => (response += chunk));
        socket.on('error', () => undefined); // a reset after the server gave up is an outcome, read below
        socket.on('close', () => {
          clearInterval(timer);
          resolve({ response, ms: Date.now() - started });
        });
        socket.on('connect', () => {
          socket.write(head);
          if (pending.length > 0)
            timer = setInterval(
              () => (pending.length > 0 && !socket.destroyed ? socket.write(pending.shift()!) : undefined),
              everyMs,
            );
          else socket.end();
        });
        setTimeout(() => reject(new Error('the server held a socket for 30 s')), 30_000).unref();
      });
    }
    const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
    const uploadsOfA = async () =>
      Number(
        (await db.query<{ n: string }>('SELECT count(*) AS n FROM uploads WHERE tenant_id = $1', [tenantA])).rows[0]!.n,
      );

    async function runSocket(c: SocketCase): Promise<{ id: string; problems: string[] }> {
      const problems: string[] = [];
      if (c.kind === 'headers') {
        const name = c.header_name ?? 'x-filler';
        const headers = Array.from(
          { length: c.header_count ?? 1 },
          (_, i) => `${name}${c.header_count! > 1 ? `-${i}` : ''}: ${'h'.repeat(c.header_bytes ?? 0)}\r\n`,
        ).join('');
        const { response } = await exchange(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`);
        if (statusOf(response) !== c.expect.status)
          problems.push(`status ${statusOf(response)}, expected ${c.expect.status}: ${response.slice(0, 100)}`);
      } else if (c.kind === 'raw') {
        const { response } = await exchange(c.raw!);
        if (statusOf(response) !== c.expect.status)
          problems.push(`status ${statusOf(response)}, expected ${c.expect.status}: ${response.slice(0, 100)}`);
      } else {
        const auth = `Authorization: Bearer ${keys.a_producer}\r\n`;
        const head = {
          headers: `POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `,
          body: `POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: text/csv\r\nContent-Length: 1000000\r\n\r\nsku,title\n`,
          chunked: `POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\na\r\nsku,title\n\r\n`,
        }[c.stage!];
        const piece = c.stage === 'chunked' ? '1\r\nx\r\n' : 'x';
        const before = await uploadsOfA();
        const slow = Array.from({ length: c.clients ?? 1 }, () =>
          exchange(
            head,
            Array.from({ length: 60 }, () => piece),
          ),
        );
        if (c.expect.served_meanwhile) {
          await new Promise((r) => setTimeout(r, 300));
          const health = await fetch(`http://127.0.0.1:${port}/healthz`);
          if (health.status !== 200) problems.push(`healthz ${health.status} while slow clients wait`);
          const posted = await fetch(`http://127.0.0.1:${port}/v1/topics/${QUOTES}/records`, {
            method: 'POST',
            headers: { authorization: `Bearer ${keys.a_producer}`, 'content-type': 'application/json' },
            body: JSON.stringify([quote()]),
          });
          if (posted.status !== 200) problems.push(`a valid record got ${posted.status} while slow clients wait`);
          else
            for (const r of ((await posted.json()) as { results: { id: string; partition: number; offset: string }[] })
              .results)
              acceptedRecords.push({ topic: QUOTES, ...r });
        }
        for (const { ms, response } of await Promise.all(slow)) {
          if (ms > c.expect.closed_within_ms!) problems.push(`the socket stayed open ${ms} ms`);
          const status = statusOf(response);
          if (status !== 0 && status !== 408 && status !== 400)
            problems.push(`answered ${status}: ${response.slice(0, 200)}`);
        }
        if (c.expect.no_upload_kept && (await uploadsOfA()) !== before)
          problems.push('an unfinished upload was recorded');
      }
      return { id: c.id, problems };
    }

    for (const [i, batch] of batches(casesOf(corpus, 'socket'), 10).entries()) {
      it(`batch ${i + 1}: ${batch.map((c) => c.id.replace('socket-', '')).join(', ')}`, async () => {
        assertBatch(await pooled(batch, 1, runSocket));
        const health = await fetch(`http://127.0.0.1:${port}/healthz`);
        assert.equal(health.status, 200, 'the real server still serves');
        await stillServes();
      });
    }
  });

  it('nothing accepted was lost: every accepted record is on its topic with its id', async () => {
    const at = (r: { topic: string; partition: number; offset: string }) => `${r.topic}:${r.partition}:${r.offset}`;
    const wanted = new Set(acceptedRecords.map(at));
    const found = new Map<string, string>();
    const consumer = kafka.consumer({ groupId: `hostile-readback-${run}` });
    await consumer.connect();
    const topicsRead = [...new Set(acceptedRecords.map((r) => r.topic))];
    await consumer.subscribe({ topics: topicsRead });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const key = at({ topic, partition, offset: message.offset });
        if (wanted.has(key)) found.set(key, (await registry.decode<{ id: string }>(message.value)).value.id);
      },
    });
    // each partition read from the first offset accepted on it
    const firstOffsets = new Map<string, { topic: string; partition: number; offset: bigint }>();
    for (const r of acceptedRecords) {
      const key = `${r.topic}:${r.partition}`;
      const offset = BigInt(r.offset);
      if (!firstOffsets.has(key) || offset < firstOffsets.get(key)!.offset)
        firstOffsets.set(key, { topic: r.topic, partition: r.partition, offset });
    }
    for (const { topic, partition, offset } of firstOffsets.values())
      consumer.seek({ topic, partition, offset: offset.toString() });
    try {
      await eventually(
        'every accepted record read back',
        () => (found.size >= wanted.size ? true : undefined),
        120_000,
      );
    } finally {
      await consumer.disconnect();
    }
    const lost = acceptedRecords.filter((r) => found.get(at(r)) !== r.id);
    assert.deepEqual(lost, [], 'accepted records missing or changed');
    assert.ok(acceptedRecords.length > 20, `${acceptedRecords.length} records accepted and read back`);
  });
});
