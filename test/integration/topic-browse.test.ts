/**
 * Browsing topics and schemas over HTTP, walked by two tenants and an operator: records produced
 * through the API come back decoded at the partition and offset the API reported, each tenant sees
 * only its own, and the schema list shows each topic's versions and compatibility.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../api/app.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { composeApi } from '../../api/compose.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import type { RecordView } from '../../core/topic-browse.ts';

const topic = 'market.quotes.raw';
const run = randomBytes(3).toString('hex');
const db = createPostgresPool(2);
const kafka = createKafka('millrace-test');
const registry = new Registry();
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin(); // the ingest route reads topic metadata through it
const keys: Record<string, string> = {};
let app: App;

const call = (path: string, key: string, body?: unknown) =>
  app.request(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const quote = (i: number) => ({
  id: `browse-${run}-${i}`,
  event_time: 1_700_000_000_000 + i,
  source: 'browse-test',
  symbol: `B${run}`.toUpperCase(),
  ts: 1_700_000_000_000 + i * 60_000,
  open: null,
  high: null,
  low: null,
  close: 100 + i,
  volume: null,
});

/** What the ingest route answered for each record: where it went. */
const placed: Record<string, { id: string; partition: number; offset: string }[]> = {};

before(async () => {
  await producer.connect();
  app = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin, db, clickhouse: createClickHouse('default') },
    { log: createLogger('test'), checks: {} },
  ).app;
  for (const t of ['a', 'b', 'ops'] as const) await createTenant(db, `br${t}-${run}`);
  keys.a = (await createKey(db, `bra-${run}`, 'producer')).key;
  keys.b = (await createKey(db, `brb-${run}`, 'producer')).key;
  keys.ops = (await createKey(db, `brops-${run}`, 'operator')).key;
  for (const who of ['a', 'b']) {
    const res = await call(`/v1/topics/${topic}/records`, keys[who]!, [0, 1, 2, 3, 4].map(quote));
    assert.equal(res.status, 200);
    placed[who] = ((await res.json()) as { results: { id: string; partition: number; offset: string }[] }).results;
  }
});
after(async () => {
  await Promise.all([producer.disconnect(), admin.disconnect()]);
  await db.end();
});

const browse = async (key: string, query: string) => {
  const res = await call(`/v1/topics/${topic}/browse?${query}`, key);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { records: RecordView[]; next_cursor: string | null };
};

/**
 * Every page of a browse from the oldest record: a page scans at most SCAN_CAP records, and the
 * shared topic may hold more before this run's (other suites produce quotes too).
 */
const browseAll = async (key: string, query: string) => {
  const records: RecordView[] = [];
  let page = await browse(key, query);
  records.push(...page.records);
  for (let pages = 1; page.next_cursor && pages < 100; pages++) {
    page = await browse(key, `${query}&cursor=${encodeURIComponent(page.next_cursor)}`);
    records.push(...page.records);
  }
  return { records };
};

describe('browsing topics', () => {
  it('a tenant finds its records at the partition and offset the API gave them, decoded', async () => {
    const symbolKey = `bra-${run}:${quote(0).symbol}`; // the topic is keyed by tenant and symbol
    const page = await browseAll(keys.a!, `from=oldest&key=${encodeURIComponent(symbolKey)}&limit=500`);
    const mine = page.records.filter((r) =>
      (r.payload as { value: { id: string } }).value.id.startsWith(`browse-${run}`),
    );
    assert.deepEqual(
      mine.map((r) => [r.partition, r.offset, (r.payload as { value: { id: string } }).value.id]),
      placed.a!.map((p) => [p.partition, p.offset, p.id]),
    );
    assert.ok(
      mine.every(
        (r) => r.payload.encoding === 'avro' && (r.payload.value as { tenant_id: string }).tenant_id === `bra-${run}`,
      ),
    );

    const first = placed.a![0]!;
    const at = await browse(keys.a!, `from=${first.offset}&partition=${first.partition}&limit=1`);
    assert.equal(at.records[0]?.offset, first.offset, 'from an offset of a partition');
  });

  it("a tenant never sees another's records; the operator sees both", async () => {
    const keyOf = (who: string) => encodeURIComponent(`br${who}-${run}:${quote(0).symbol}`);
    const bAsA = await browseAll(keys.a!, `from=oldest&key=${keyOf('b')}&limit=500`);
    assert.equal(bAsA.records.length, 0);
    for (const who of ['a', 'b']) {
      const seen = await browseAll(keys.ops!, `from=oldest&key=${keyOf(who)}&limit=500`);
      assert.equal(seen.records.length, 5);
    }
    const newest = await browse(keys.a!, 'limit=20');
    assert.ok(
      newest.records.every((r) => (r.payload as { value: { tenant_id: string } }).value.tenant_id === `bra-${run}`),
    );
  });

  it('refuses what it cannot answer, naming the problem', async () => {
    assert.equal((await call('/v1/topics/no.such.topic/browse', keys.a!)).status, 404);
    assert.equal(
      (await call(`/v1/topics/${topic}/browse?from=12`, keys.a!)).status,
      400,
      'an offset needs a partition',
    );
    assert.equal((await call(`/v1/topics/${topic}/browse?partition=99`, keys.a!)).status, 400);
    assert.equal((await call(`/v1/topics/${topic}/browse?from=yesterday`, keys.a!)).status, 400);
  });
});

describe('schemas and who am I', () => {
  it("lists each topic's value schema versions and compatibility", async () => {
    const res = await call('/v1/schemas', keys.a!);
    assert.equal(res.status, 200);
    const { subjects } = (await res.json()) as {
      subjects: {
        topic: string;
        subject: string;
        compatibility: string | null;
        versions: { version: number; id: number; schema: { name: string } }[];
      }[];
    };
    const quotes = subjects.find((s) => s.topic === topic)!;
    assert.equal(quotes.subject, `${topic}-value`);
    assert.equal(quotes.compatibility, 'BACKWARD');
    assert.ok(quotes.versions.length >= 1);
    assert.equal(quotes.versions.at(-1)!.id, await registry.latestId(`${topic}-value`));
    assert.equal(typeof quotes.versions[0]!.schema.name, 'string');
  });

  it('tells a key its tenant, role and permissions', async () => {
    const me = (await (await call('/v1/me', keys.ops!)).json()) as Record<string, unknown>;
    assert.deepEqual(
      { ...me, subject: String(me.subject).startsWith('key:') },
      {
        tenant_id: `brops-${run}`,
        role: 'operator',
        subject: true,
        permissions: ['read', 'manage_models', 'operate'],
      },
    );
    assert.equal((await app.request('/v1/me')).status, 401);
  });
});
