import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readDlqContext, toDlqMessage } from './dlq.ts';
import { UndecodableError } from './schema-registry.ts';

describe('DLQ records', () => {
  const source = {
    topic: 'a.b.raw',
    partition: 4,
    message: { key: Buffer.from('k'), value: Buffer.from('v'), headers: { trace: 't1' }, offset: '17' },
  };

  it('keep the original key, value and headers and add the context', () => {
    const message = toDlqMessage(
      source,
      new UndecodableError('magic byte 123'),
      'consume',
      new Date('2026-01-01T00:00:00Z'),
    );
    assert.equal(message.key?.toString(), 'k');
    assert.equal(message.value?.toString(), 'v');
    assert.equal(message.headers?.trace, 't1');
    assert.deepEqual(readDlqContext(message.headers), {
      errorClass: 'UndecodableError',
      errorMessage: 'magic byte 123',
      stage: 'consume',
      sourceTopic: 'a.b.raw',
      sourcePartition: 4,
      sourceOffset: '17',
      timestamp: '2026-01-01T00:00:00.000Z',
    });
  });

  it('reading a record without the context says which header is missing', () => {
    assert.throws(() => readDlqContext({}), /header millrace.error.class missing/);
  });
});
