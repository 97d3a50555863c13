/** Unit tests of core/decode.ts and core/dead-letters.ts with a fake registry: records, dead letters, outages. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaMessage, ProducerRecord } from 'kafkajs';
import { deadLetterMessages, sendDeadLetters } from './dead-letters.ts';
import { decodeBatch, decodeMessage } from './decode.ts';
import { readDlqContext } from './dlq.ts';
import { pino } from 'pino';
import { UndecodableError } from './schema-registry.ts';

const message = (offset: string, value: string): KafkaMessage =>
  ({
    key: Buffer.from(`k${offset}`),
    value: Buffer.from(value),
    headers: { trace: 't' },
    offset,
    timestamp: '1700000000000',
    attributes: 0,
  }) as KafkaMessage;

/** Decodes "ok:<json>", refuses "bad", and is unreachable for "down". */
const registry = {
  async decode<T>(bytes: Buffer | null): Promise<{ schemaId: number; value: T }> {
    const text = bytes?.toString() ?? '';
    if (text === 'down') throw new Error('ECONNREFUSED');
    if (!text.startsWith('ok:')) throw new UndecodableError(`not Avro: ${text}`);
    return { schemaId: 7, value: JSON.parse(text.slice(3)) as T };
  },
};
const log = pino({ level: 'silent' });

describe('decode', () => {
  it('turns a message into a ConsumedRecord', async () => {
    const decoded = await decodeMessage<{ a: number }>(registry, 'a.b.raw', 2, message('5', 'ok:{"a":1}'));
    assert.deepEqual(decoded.record, {
      topic: 'a.b.raw',
      partition: 2,
      offset: '5',
      key: 'k5',
      schemaId: 7,
      timestamp: '1700000000000',
      headers: { trace: 't' },
      value: { a: 1 },
    });
    assert.equal(decoded.source.message.offset, '5');
  });

  it('an undecodable message is a dead letter; a registry outage is thrown', async () => {
    const decoded = await decodeMessage(registry, 'a.b.raw', 2, message('6', 'bad'));
    assert.ok(decoded.dead?.error instanceof UndecodableError);
    await assert.rejects(decodeMessage(registry, 'a.b.raw', 2, message('7', 'down')), /ECONNREFUSED/);
  });

  it('a batch keeps records and their sources aligned, dead letters in order', async () => {
    const batch = await decodeBatch(registry, 't', 0, [
      message('1', 'bad'),
      message('2', 'ok:1'),
      message('3', 'bad2'),
      message('4', 'ok:2'),
    ]);
    assert.deepEqual(
      batch.records.map((r) => r.offset),
      ['2', '4'],
    );
    assert.deepEqual(
      batch.sources.map((s) => s.message.offset),
      ['2', '4'],
    );
    assert.deepEqual(
      batch.dead.map((d) => d.source.message.offset),
      ['1', '3'],
    );
  });
});

describe('dead letters', () => {
  it('become DLQ messages with the context headers, sent to <topic>.dlq with acks from all replicas', async () => {
    const { dead } = await decodeBatch(registry, 'a.b.raw', 1, [message('9', 'bad')]);
    const [dlqMessage] = deadLetterMessages(dead, 'consume', log);
    assert.equal(readDlqContext(dlqMessage!.headers).sourceOffset, '9');
    const sent: ProducerRecord[] = [];
    await sendDeadLetters({ send: async (record) => sent.push(record) }, dead, 'consume', log);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.topic, 'a.b.raw.dlq');
    assert.equal(sent[0]!.acks, -1);
    assert.equal(readDlqContext(sent[0]!.messages[0]!.headers).stage, 'consume');
    await sendDeadLetters({ send: async () => assert.fail('nothing to send') }, [], 'consume', log);
  });
});
