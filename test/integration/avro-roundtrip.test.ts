import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAvroConsumer, type ConsumedRecord } from '../../core/consumer.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { AvroProducer } from '../../core/producer.ts';
import { RecordInvalidError, Registry, UndecodableError } from '../../core/schema-registry.ts';
import type { ResolvedTopic } from '../../core/topic-checks.ts';
import { valueSubjectOf } from '../../schemas/topic-spec.ts';
import { eventually, flights, flightTopic, type Flight } from '../../testkit/helpers.ts';

describe('Avro on Kafka through the registry', () => {
  const kafka = createKafka('millrace-test');
  const registry = new Registry();
  const producer = new AvroProducer(kafka, registry);
  let topic: ResolvedTopic;

  before(async () => {
    topic = await flightTopic('roundtrip', 6);
    await producer.connect();
  });
  after(() => producer.disconnect());

  it('10,000 real flights on 6 partitions come back decoded, equal, in per-partition order', async () => {
    const sent = flights(10_000);
    for (let i = 0; i < sent.length; i += 1000) {
      await producer.send(
        topic.name,
        sent.slice(i, i + 1000).map((value) => ({ value })),
      );
    }

    const received: ConsumedRecord<Flight>[] = [];
    const consumer = await startAvroConsumer<Flight>({
      kafka,
      registry,
      groupId: `test-roundtrip-${topic.name}`,
      topics: [topic.name],
      stage: 'test',
      fromBeginning: true,
      log: createLogger('test'),
      handle: async (records) => void received.push(...records),
    });
    try {
      await eventually('10,000 records', () => (received.length >= sent.length ? true : undefined));
    } finally {
      await consumer.stop();
    }

    assert.equal(received.length, sent.length, 'no duplicates');
    const byId = new Map(received.map((r) => [r.value.id, r.value]));
    assert.equal(byId.size, sent.length);
    // avsc decodes into record-class instances; compare the fields
    for (const flight of sent) assert.deepEqual({ ...byId.get(flight.id) }, flight);

    const position = new Map(sent.map((f, i) => [f.id, i]));
    const partitions = new Set(received.map((r) => r.partition));
    assert.equal(partitions.size, 6, 'keys spread over all 6 partitions');
    for (const partition of partitions) {
      const inPartition = received.filter((r) => r.partition === partition);
      const offsets = inPartition.map((r) => BigInt(r.offset));
      const order = inPartition.map((r) => position.get(r.value.id) ?? -1);
      for (let i = 1; i < inPartition.length; i++) {
        assert.ok(offsets[i]! > offsets[i - 1]!, `partition ${partition}: offsets increase`);
        assert.ok(order[i]! > order[i - 1]!, `partition ${partition}: records in the order they were produced`);
      }
    }
    assert.ok(received.every((r) => r.schemaId === received[0]!.schemaId && r.key === r.value.id));
  });

  it('a payload cut short or with bytes after the record is undecodable, with or without a wait for its schema', async () => {
    const [flight] = flights(1);
    const bytes = await registry.encode(valueSubjectOf(topic.name), flight);
    assert.deepEqual({ ...(await registry.decode<Flight>(bytes)).value }, flight);
    for (const [label, bad, reason] of [
      ['cut short', bytes.subarray(0, bytes.length - 3), /truncated buffer/],
      ['with a byte after it', Buffer.concat([bytes, Buffer.from([0])]), /trailing data/],
    ] as const) {
      await assert.rejects(
        registry.decode(bad),
        (e: unknown) => e instanceof UndecodableError && reason.test(String(e)),
        label,
      );
      assert.throws(
        () => registry.decodeKnown(bad),
        (e: unknown) => e instanceof UndecodableError && reason.test(String(e)),
        label,
      );
    }
  });

  it('a value that does not fit the schema is refused before sending, naming the fields', async () => {
    const [flight] = flights(1);
    const bad = { ...flight!, distance: 'far', delay: 1.5 } as unknown as Flight;
    await assert.rejects(producer.send(topic.name, [{ value: bad }]), (error: unknown) => {
      assert.ok(error instanceof RecordInvalidError);
      assert.deepEqual(error.fields.sort(), ['delay', 'distance']);
      assert.match(error.message, /invalid field\(s\) "(distance|delay)", "(distance|delay)"/);
      return true;
    });
  });
});
