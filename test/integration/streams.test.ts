import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { App } from '../../api/app.ts';
import { loadConfig } from '../../core/config.ts';
import { composeApi } from '../../api/compose.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { parseStartAt } from '../../api/streams.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import type { ResolvedTopic } from '../../core/topic-checks.ts';
import { flights, flightTopic, type Flight } from '../../testkit/helpers.ts';

const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(2);
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const clickhouse = createClickHouse();
const run = randomBytes(3).toString('hex');
const [tenantA, tenantB] = [`sa-${run}`, `sb-${run}`];
let topic: ResolvedTopic;
let app: App;
let keyA: string;

interface Event {
  event: string;
  id?: string;
  data: string;
}

/** Reads SSE events from a response; `until` may be called again to read further. */
function eventReader(response: Response) {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Event[] = [];
  let buffer = '';
  let ended = false;
  return {
    events,
    async until(stop: (events: Event[]) => boolean, timeoutMs = 30_000): Promise<{ events: Event[]; ended: boolean }> {
      const deadline = Date.now() + timeoutMs;
      while (!ended && !stop(events)) {
        if (Date.now() > deadline) throw new Error(`timed out with ${events.length} events`);
        const { value, done } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const field = (name: string) =>
            block
              .split('\n')
              .find((l) => l.startsWith(`${name}: `))
              ?.slice(name.length + 2);
          events.push({ event: field('event') ?? 'message', id: field('id'), data: field('data') ?? '' });
        }
      }
      return { events, ended };
    },
    close: () => reader.cancel(),
  };
}

async function readEvents(
  response: Response,
  stop: (events: Event[]) => boolean,
): Promise<{ events: Event[]; ended: boolean }> {
  const reader = eventReader(response);
  try {
    return await reader.until(stop);
  } finally {
    await reader.close();
  }
}

const isReady = (events: Event[]) => events.some((e) => e.event === 'ready');

const mixed = (n: number, offset = 0): Flight[] =>
  flights(n + offset)
    .slice(offset)
    .map((f, i) => ({ ...f, id: `${f.id}-${run}`, tenant_id: i % 2 === 0 ? tenantA : tenantB }));

async function open(from: string, slowClientMs = 10_000) {
  const streamingApp = slowClientMs === 10_000 ? app : build(slowClientMs);
  return streamingApp.request(`/v1/streams/${topic.name}?from=${encodeURIComponent(from)}`, {
    headers: { authorization: `Bearer ${keyA}` },
  });
}

function build(slowClientMs: number) {
  return composeApi(
    loadConfig(),
    { kafka, registry, producer, admin, db, clickhouse },
    {
      log: createLogger('test'),
      checks: {},
      topics: [{ ...topic, streamable: true }],
      streams: { heartbeatMs: 500, slowClientMs },
      uploads: new Uploads(db, mkdtempSync(path.join(tmpdir(), 'millrace-uploads-')), producer, createLogger('test')),
    },
  ).app;
}

before(async () => {
  topic = await flightTopic('stream', 3);
  await Promise.all([producer.connect(), admin.connect()]);
  await createTenant(db, tenantA);
  await createTenant(db, tenantB);
  keyA = (await createKey(db, tenantA, 'reader')).key;
  app = build(10_000);
});
after(() => Promise.all([producer.disconnect(), admin.disconnect(), db.end(), clickhouse.close()]));

describe('live streams (SSE)', () => {
  it("from=earliest: only the caller's tenant, with partition:offset ids, then heartbeats", async () => {
    const sent = mixed(40);
    await producer.send(
      topic.name,
      sent.map((value) => ({ value })),
    );
    const response = await open('earliest');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const { events } = await readEvents(
      response,
      (e) => e.filter((x) => x.event === 'record').length >= 20 && e.some((x) => x.event === 'heartbeat'),
    );
    const records = events.filter((e) => e.event === 'record');
    const values = records.map((e) => JSON.parse(e.data) as Flight);
    assert.ok(
      values.every((v) => v.tenant_id === tenantA),
      'never another tenant',
    );
    assert.deepEqual(
      new Set(values.map((v) => v.id)),
      new Set(sent.filter((f) => f.tenant_id === tenantA).map((f) => f.id)),
    );
    assert.ok(records.every((e) => /^\d+:\d+$/.test(e.id ?? '')));
    assert.equal(events[0]?.event, 'ready');
  });

  it('from=now: only what is produced after the request', async () => {
    const reader = eventReader(await open('now'));
    await reader.until(isReady); // the start offsets are fixed before `ready` is sent
    const later = mixed(10, 1000);
    await producer.send(
      topic.name,
      later.map((value) => ({ value })),
    );
    const { events } = await reader.until((e) => e.filter((x) => x.event === 'record').length >= 5);
    await reader.close();
    const ids = events.filter((e) => e.event === 'record').map((e) => (JSON.parse(e.data) as Flight).id);
    assert.deepEqual(new Set(ids), new Set(later.filter((f) => f.tenant_id === tenantA).map((f) => f.id)));
  });

  it('from=partition:offset resumes after a given event id', async () => {
    const response = await open('earliest');
    const { events } = await readEvents(response, (e) => e.filter((x) => x.event === 'record').length >= 3);
    const third = events.filter((e) => e.event === 'record')[2]!;
    const [partition, offset] = third.id!.split(':').map(Number) as [number, number];
    const resumed = eventReader(await open(`${partition}:${offset + 1}`));
    await resumed.until(isReady);
    const more = mixed(6, 2000);
    await producer.send(
      topic.name,
      more.map((value) => ({ value })),
    );
    // until the last record sent has arrived and so has one of the resumed partition (partitions interleave freely)
    const got = (
      await resumed.until(
        (e) =>
          e.some((x) => x.event === 'record' && (JSON.parse(x.data) as Flight).id === more[4]!.id) &&
          e.some((x) => x.event === 'record' && x.id!.startsWith(`${partition}:`)),
      )
    ).events.filter((e) => e.event === 'record');
    await resumed.close();
    const inPartition = got.filter((e) => e.id!.startsWith(`${partition}:`)).map((e) => Number(e.id!.split(':')[1]));
    assert.ok(
      inPartition.length > 0 && inPartition.every((o) => o > offset),
      'that partition resumes after the given offset',
    );
  });

  it('a client that stops reading is dropped, not buffered', async () => {
    const response = await open('earliest', 300);
    await producer.send(
      topic.name,
      mixed(200, 3000).map((value) => ({ value })),
    );
    await new Promise((r) => setTimeout(r, 3000)); // not reading: the server must give up on us
    const { ended, events } = await readEvents(response, () => false);
    assert.ok(
      events.some((e) => e.event === 'record'),
      'it did stream before giving up',
    );
    assert.ok(ended, 'the server closed the stream');
    assert.ok(events.filter((e) => e.event === 'record').length < 150, 'it did not queue everything for us');
  });

  it('bad requests: unknown topic 404, bad from 400, no key 401', async () => {
    assert.equal(
      (await app.request('/v1/streams/nope.nope.nope', { headers: { authorization: `Bearer ${keyA}` } })).status,
      404,
    );
    assert.equal((await open('yesterday-ish')).status, 400);
    assert.equal((await app.request(`/v1/streams/${topic.name}`)).status, 401);
    assert.deepEqual(parseStartAt('1:5,2:7'), {
      kind: 'offsets',
      offsets: new Map([
        [1, '5'],
        [2, '7'],
      ]),
    });
    assert.equal(parseStartAt('2026-01-01T00:00:00Z')?.kind, 'timestamp');
  });
});
