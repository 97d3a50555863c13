/**
 * Dead letters end to end: a processor's version rejects records by mistake, a fixed version takes
 * over, and the dead letters are redriven to their source topic: each lands downstream once, a
 * second redrive sends nothing, and a record that fails again is a dead letter again with the new
 * reason. Then the HTTP routes, walked by two tenants, a reader and an operator.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../api/app.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { composeApi } from '../../api/compose.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { listDeadLetters, type DeadLetterView } from '../../core/dlq-browse.ts';
import { readRedrives, redriveDeadLetters, REDRIVE_OF_HEADER } from '../../core/dlq-redrive.ts';
import { readDlqContext, toDlqMessage } from '../../core/dlq.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { topicOffsets } from '../../core/topic-range.ts';
import { perRecord, runProcessor, type ProcessorSpec } from '../../processors/runtime/index.ts';
import { dlqTopicOf, valueSubjectOf } from '../../schemas/topic-spec.ts';
import { eventually, flights, type Flight } from '../../testkit/helpers.ts';
import { produceFlights, readCommitted, topicPair } from '../../testkit/processor-helpers.ts';

class NegativeDelayError extends Error {
  override name = 'NegativeDelayError';
}
class UnknownAirportError extends Error {
  override name = 'UnknownAirportError';
}

const kafka = createKafka('millrace-test');
const registry = new Registry();
const operator = { operator: true } as const;

const processorSpec = (name: string, input: string, output: string, fixed: boolean): ProcessorSpec<Flight, Flight> => ({
  name,
  input,
  output,
  transform: perRecord((record) => {
    // version 1's bug: an early departure is not an error
    if (!fixed && record.value.delay < 0)
      throw new NegativeDelayError(`flight ${record.value.id}: delay ${record.value.delay} is negative`);
    if (record.value.origin === 'ZZZ') throw new UnknownAirportError(`flight ${record.value.id}: no airport ZZZ`);
    return [record.value];
  }),
});

describe('dead letters redriven after a fix', () => {
  it('land downstream once; a second redrive sends nothing; a record failing again is a new dead letter', async () => {
    const { input, output } = await topicPair('redrive', 2, 2);
    const name = `test-redrive-${input.name}`;
    const good = flights(600); // real flights: some left early (negative delay)
    const early = good.filter((f) => f.delay < 0);
    assert.ok(early.length > 20, 'the data has early departures');
    const poison = { ...early[0]!, id: 'poison-twice', origin: 'ZZZ' }; // fails in both versions, for different reasons
    const all = [...good, poison];

    const v1 = await runProcessor(processorSpec(name, input.name, output.name, false), { kafka, registry });
    try {
      await produceFlights(kafka, registry, input.name, all);
      await eventually('version 1 has dead-lettered every early flight', async () => {
        const dead = await readCommitted(kafka, input.dlq);
        return dead.length === early.length + 1 ? true : undefined;
      });
    } finally {
      await v1.stop();
    }

    const page = await listDeadLetters({
      kafka,
      registry,
      topic: input.name,
      viewer: operator,
      filter: { errorClass: 'NegativeDelayError' },
      limit: 500,
      redrives: new Map(),
    });
    assert.equal(page.dead_letters.length, early.length + 1, 'the operator sees every one');
    assert.equal(page.next_cursor, null);
    const first = page.dead_letters[0]!;
    assert.equal(first.error.class, 'NegativeDelayError');
    assert.match(first.error.message, /is negative/);
    assert.equal(first.source.topic, input.name);
    assert.equal(first.headers['millrace.stage'], `processor.${name}`);
    assert.equal(first.payload.encoding, 'avro');
    const decoded = first.payload.encoding === 'avro' ? (first.payload.value as Flight) : undefined;
    assert.ok(decoded && decoded.delay < 0, 'the payload decoded, as it was produced');
    const acmeEarly = early.filter((f) => f.tenant_id === 'acme').length + (poison.tenant_id === 'acme' ? 1 : 0);
    const acmeView = await listDeadLetters({
      kafka,
      registry,
      topic: input.name,
      viewer: { tenantId: 'acme' },
      filter: {},
      limit: 500,
      redrives: new Map(),
    });
    assert.equal(acmeView.dead_letters.length, acmeEarly, "a tenant sees its own dead letters, no other tenant's");
    assert.ok(acmeView.dead_letters.every((d) => d.tenant_id === 'acme'));
    const paged = await listDeadLetters({
      kafka,
      registry,
      topic: input.name,
      viewer: operator,
      filter: {},
      limit: 7,
      redrives: new Map(),
    });
    assert.equal(paged.dead_letters.length, 7);
    const rest = await listDeadLetters({
      kafka,
      registry,
      topic: input.name,
      viewer: operator,
      filter: {},
      cursor: paged.next_cursor!,
      limit: 500,
      redrives: new Map(),
    });
    assert.equal(
      new Set([...paged.dead_letters, ...rest.dead_letters].map((d) => d.id)).size,
      early.length + 1,
      'a cursor goes on where the page stopped, skipping and repeating nothing',
    );

    const v2 = await runProcessor(processorSpec(name, input.name, output.name, true), { kafka, registry });
    try {
      // the tenant redrives its own; the operator, the rest (acme's then count as already redriven)
      const byAcme = await redriveDeadLetters({
        kafka,
        registry,
        topic: input.name,
        viewer: { tenantId: 'acme' },
        actor: { subject: 'key:acme-test', tenantId: 'acme' },
        selection: { filter: { errorClass: 'NegativeDelayError' } },
      });
      assert.equal(byAcme.redriven.length, acmeEarly);
      const byOperator = await redriveDeadLetters({
        kafka,
        registry,
        topic: input.name,
        viewer: operator,
        actor: { subject: 'cli:ops', tenantId: 'operators' },
        selection: { filter: { errorClass: 'NegativeDelayError' } },
      });
      assert.equal(byOperator.redriven.length, early.length + 1 - acmeEarly);
      assert.equal(byOperator.skipped.length, acmeEarly);
      assert.ok(byOperator.skipped.every((s) => s.reason === 'already_redriven' && s.redrive.by === 'key:acme-test'));

      // The offsets read are the last stable ones, and a commit returns before the broker has
      // written its markers: wait until every redriven record reads as committed, so `ends` holds
      // both redrives' markers and what follows can only be the second redrive's doing.
      await eventually('both redrives committed in the source topic', async () =>
        (await readCommitted(kafka, input.name)).length === all.length + early.length + 1 ? true : undefined,
      );
      const ends = await topicOffsets(kafka, input.name);
      const again = await redriveDeadLetters({
        kafka,
        registry,
        topic: input.name,
        viewer: operator,
        actor: { subject: 'cli:ops', tenantId: 'operators' },
        selection: { ids: [first.id, '0:999999'] },
      });
      assert.deepEqual(again.redriven, [], 'a second redrive sends nothing');
      assert.deepEqual(
        again.skipped.map((s) => [s.id, s.reason]).sort(),
        [
          [first.id, 'already_redriven'],
          ['0:999999', 'not_found'],
        ].sort(),
      );
      assert.deepEqual(await topicOffsets(kafka, input.name), ends, 'nothing more was written to the source topic');

      await eventually('every flight downstream', async () => {
        const out = await readCommitted(kafka, output.name);
        return out.length >= good.length ? out : undefined;
      });
      const downstream = (await readCommitted(kafka, output.name)).map((r) => r.value);
      const ids = await Promise.all(downstream.map(async (v) => (await registry.decode<Flight>(v)).value.id));
      assert.equal(ids.length, good.length, 'each flight once: none lost, none doubled');
      assert.deepEqual(new Set(ids), new Set(good.map((f) => f.id)));

      const again2 = await eventually('the poison record dead-lettered again', async () => {
        const dead = await readCommitted(kafka, input.dlq);
        return dead.find((d) => readDlqContext(d.headers).errorClass === 'UnknownAirportError');
      });
      assert.match(readDlqContext(again2.headers).errorMessage, /no airport ZZZ/);
      assert.match(again2.headers[REDRIVE_OF_HEADER]!, new RegExp(`^${input.dlq.replace(/\./g, '\\.')}:\\d+:\\d+$`));
    } finally {
      await v2.stop();
    }

    const log = await readRedrives(kafka, registry);
    const entry = log.get(`${input.dlq}:${first.id}`);
    assert.ok(
      entry && !Number.isNaN(Date.parse(entry.at)) && entry.target.topic === input.name,
      'the log says who and when',
    );
  });
});

describe('dead-letter routes, walked by two tenants, a reader and an operator', () => {
  const db = createPostgresPool(2);
  const run = randomBytes(3).toString('hex');
  const [tenantA, tenantB, ops] = [`dla-${run}`, `dlb-${run}`, `ops-${run}`];
  const keys: Record<string, string> = {};
  const topic = 'samples.flights.raw';
  const since = Date.now();
  let app: App;
  const letters = new Map<string, string>(); // tenant -> dead letter id

  const call = (path: string, key: string, body?: unknown) =>
    app.request(path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  before(async () => {
    for (const t of [tenantA, tenantB, ops]) await createTenant(db, t);
    keys.a = (await createKey(db, tenantA, 'producer')).key;
    keys.b = (await createKey(db, tenantB, 'admin')).key;
    keys.reader = (await createKey(db, tenantA, 'reader')).key;
    keys.ops = (await createKey(db, ops, 'operator')).key;
    const producer = new AvroProducer(kafka, registry);
    app = composeApi(
      loadConfig(),
      { kafka, registry, producer, admin: kafka.admin(), db, clickhouse: createClickHouse('default') },
      {
        log: createLogger('test'),
        checks: {},
      },
    ).app;
    // what a pipeline writes when it refuses a record (core/dlq.ts), one per tenant, and one that is not Avro
    const raw = kafka.producer();
    await raw.connect();
    try {
      for (const [i, tenant] of [tenantA, tenantB].entries()) {
        const flight = { ...flights(1)[0]!, id: `dl-${run}-${i}`, tenant_id: tenant };
        const value = await registry.encode(valueSubjectOf(topic), flight);
        const dead = toDlqMessage(
          {
            topic,
            partition: 0,
            message: { key: Buffer.from(flight.id), value, headers: {}, offset: String(1000 + i) },
          },
          new UnknownAirportError(`flight ${flight.id}: refused in the test`),
          'processor.test',
        );
        await raw.send({ topic: dlqTopicOf(topic), messages: [{ ...dead, partition: 0 }] });
      }
      const junk = toDlqMessage(
        {
          topic,
          partition: 0,
          message: { key: null, value: Buffer.from(`not avro ${run}`), headers: {}, offset: '2000' },
        },
        new Error('undecodable'),
        'processor.test',
      );
      await raw.send({ topic: dlqTopicOf(topic), messages: [{ ...junk, partition: 0 }] });
    } finally {
      await raw.disconnect();
    }
  });
  after(() => db.end());

  const listOf = async (key: string) => {
    const res = await call(`/v1/dead-letters/${topic}?since=${since}&error_class=UnknownAirportError&limit=500`, key);
    assert.equal(res.status, 200);
    return ((await res.json()) as { dead_letters: DeadLetterView[] }).dead_letters;
  };

  it('each tenant lists only its own; the operator lists all, the undecodable one as hex', async () => {
    const a = (await listOf(keys.a!)).filter((d) => d.key?.startsWith(`dl-${run}`));
    const b = (await listOf(keys.b!)).filter((d) => d.key?.startsWith(`dl-${run}`));
    assert.deepEqual(
      a.map((d) => d.tenant_id),
      [tenantA],
    );
    assert.deepEqual(
      b.map((d) => d.tenant_id),
      [tenantB],
    );
    letters.set(tenantA, a[0]!.id);
    letters.set(tenantB, b[0]!.id);
    assert.equal(a[0]!.headers['millrace.error.class'], 'UnknownAirportError');

    const all = (await (await call(`/v1/dead-letters/${topic}?since=${since}&limit=500`, keys.ops!)).json()) as {
      dead_letters: DeadLetterView[];
    };
    const mine = all.dead_letters.filter((d) => d.key?.startsWith(`dl-${run}`) || d.payload.encoding === 'hex');
    assert.ok(mine.some((d) => d.tenant_id === tenantA) && mine.some((d) => d.tenant_id === tenantB));
    const hex = mine.find(
      (d) =>
        d.payload.encoding === 'hex' &&
        Buffer.from((d.payload as { hex: string }).hex, 'hex')
          .toString()
          .includes(run),
    );
    assert.ok(hex, 'the operator sees the record that is not Avro, as hex');
    const tenantsSeeHex = (await listOf(keys.a!)).some((d) => d.payload.encoding === 'hex');
    assert.equal(tenantsSeeHex, false, 'a record naming no tenant is for operators only');
  });

  it("a tenant cannot redrive another's dead letter, nor tell it exists; a reader cannot redrive", async () => {
    const other = letters.get(tenantA)!;
    const res = await call(`/v1/dead-letters/${topic}/redrive`, keys.b!, { ids: [other] });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { redriven: [], skipped: [{ id: other, reason: 'not_found' }], more: false });
    assert.equal((await call(`/v1/dead-letters/${topic}/redrive`, keys.reader!, { ids: [other] })).status, 403);
    assert.equal((await call(`/v1/dead-letters/no.such.topic`, keys.a!)).status, 404);
    assert.equal((await call(`/v1/dead-letters/${topic}?cursor=nonsense`, keys.a!)).status, 400);
    assert.equal((await call(`/v1/dead-letters/${topic}/redrive`, keys.a!, { ids: ['x'] })).status, 400);
    const counts = (await (await call('/v1/dead-letters', keys.a!)).json()) as { topics: { records?: number }[] };
    assert.ok(
      counts.topics.every((t) => t.records === undefined),
      'DLQ sizes are for operators',
    );
  });

  it('a tenant redrives its own once; the operator sees who did it and when', async () => {
    const mine = letters.get(tenantA)!;
    const first = (await (await call(`/v1/dead-letters/${topic}/redrive`, keys.a!, { ids: [mine] })).json()) as {
      redriven: { id: string; target: { topic: string } }[];
    };
    assert.deepEqual(
      first.redriven.map((r) => [r.id, r.target.topic]),
      [[mine, topic]],
    );
    const second = (await (await call(`/v1/dead-letters/${topic}/redrive`, keys.a!, { ids: [mine] })).json()) as {
      redriven: unknown[];
      skipped: { reason: string }[];
    };
    assert.deepEqual([second.redriven.length, second.skipped[0]?.reason], [0, 'already_redriven']);
    const seen = (await listOf(keys.ops!)).find((d) => d.id === mine)!;
    assert.ok(seen.redrive?.by.startsWith('key:') && !Number.isNaN(Date.parse(seen.redrive.at)));
    const admin = (await (await call('/v1/keys', keys.b!, { role: 'operator' })).json()) as { error?: string };
    assert.equal(admin.error, 'invalid_request', 'an admin cannot hand out the operator role');
  });
});
