import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startAvroConsumer } from '../../core/consumer.ts';
import { readDlqContext, type DlqContext } from '../../core/dlq.ts';
import { createKafka, producerDefaults } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { eventually, flights, flightTopic, type Flight } from '../../testkit/helpers.ts';

describe('undecodable records go to the DLQ and the stream goes on', () => {
  it('an unknown schema id and a non-Avro record land in <topic>.dlq with reason and origin', async () => {
    const kafka = createKafka('millrace-test');
    const registry = new Registry();
    const topic = await flightTopic('dlq', 1); // one partition: offsets of the poison records are known
    const producer = new AvroProducer(kafka, registry);
    const raw = kafka.producer(producerDefaults);
    await Promise.all([producer.connect(), raw.connect()]);
    const good = flights(300);
    const unknownId = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0x00]), Buffer.from('whatever')]);
    const notAvro = Buffer.from(JSON.stringify({ id: 'x', hello: 'world' }));
    try {
      await producer.send(
        topic.name,
        good.slice(0, 100).map((value) => ({ value })),
      );
      await raw.send({ topic: topic.name, messages: [{ key: 'poison-1', value: unknownId }] });
      await producer.send(
        topic.name,
        good.slice(100, 200).map((value) => ({ value })),
      );
      await raw.send({
        topic: topic.name,
        messages: [{ key: 'poison-2', value: notAvro, headers: { origin: 'test' } }],
      });
      await producer.send(
        topic.name,
        good.slice(200).map((value) => ({ value })),
      );
    } finally {
      await Promise.all([producer.disconnect(), raw.disconnect()]);
    }

    const received: Flight[] = [];
    const consumer = await startAvroConsumer<Flight>({
      kafka,
      registry,
      groupId: `test-${topic.name}`,
      topics: [topic.name],
      stage: 'test.decode',
      fromBeginning: true,
      log: createLogger('test'),
      handle: async (records) => void received.push(...records.map((r) => r.value)),
    });
    try {
      await eventually('300 good records', () => (received.length >= 300 ? true : undefined));
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(
      received.map((f) => f.id),
      good.map((f) => f.id),
      'every good record, in order, none lost',
    );

    const dead: { key: string; value: Buffer; context: DlqContext; headers: Record<string, string> }[] = [];
    const dlqReader = kafka.consumer({ groupId: `test-read-${topic.dlq}` });
    await dlqReader.connect();
    await dlqReader.subscribe({ topic: topic.dlq, fromBeginning: true });
    await dlqReader.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        dead.push({
          key: String(message.key),
          value: message.value!,
          context: readDlqContext(message.headers),
          headers,
        });
      },
    });
    try {
      await eventually('2 DLQ records', () => (dead.length >= 2 ? true : undefined));
    } finally {
      await dlqReader.disconnect();
    }
    assert.equal(dead.length, 2);
    const [first, second] = dead;
    assert.equal(first!.key, 'poison-1');
    assert.deepEqual(first!.value, unknownId, 'original bytes kept');
    assert.equal(first!.context.errorClass, 'UndecodableError');
    assert.match(first!.context.errorMessage, /schema id 2147483392 is unknown to the registry/);
    assert.equal(first!.context.stage, 'test.decode');
    assert.equal(first!.context.sourceTopic, topic.name);
    assert.equal(first!.context.sourcePartition, 0);
    assert.equal(first!.context.sourceOffset, '100');

    assert.equal(second!.key, 'poison-2');
    assert.match(second!.context.errorMessage, /not Avro in the Confluent wire format: magic byte 123, expected 0/);
    assert.equal(second!.context.sourceOffset, '201');
    assert.equal(second!.headers.origin, 'test', 'original headers kept');
  });
});
