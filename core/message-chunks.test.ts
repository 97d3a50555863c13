import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toDlqMessage } from './dlq.ts';
import { chunkMessages, messageBytes } from './message-chunks.ts';

describe('chunkMessages', () => {
  it('counts headers: 5,000 dead letters with small values still split under the limit', () => {
    const dead = Array.from({ length: 5000 }, (_, i) =>
      toDlqMessage(
        {
          topic: 'catalog.rows.raw',
          partition: 1,
          message: { key: Buffer.from(`k${i}`), value: Buffer.alloc(80), headers: {}, offset: String(i) },
        },
        new Error('row names no taxonomy: process the upload with {"taxonomy": "<id>"}'),
        'processor.catalog-classification',
      ),
    );
    assert.ok(messageBytes(dead[0]!) > 300, 'a dead letter weighs more than its value');
    const chunks = [...chunkMessages(dead, 512 * 1024)];
    assert.ok(chunks.length > 1);
    assert.equal(chunks.flat().length, 5000, 'nothing dropped, order kept');
    assert.deepEqual(chunks.flat(), dead);
    for (const chunk of chunks) assert.ok(chunk.reduce((s, m) => s + messageBytes(m), 0) <= 512 * 1024);
  });

  it('sends a record larger than the limit alone rather than never', () => {
    const big = { key: 'x', value: Buffer.alloc(600 * 1024) };
    const chunks = [...chunkMessages([{ value: Buffer.alloc(10) }, big, { value: Buffer.alloc(10) }], 512 * 1024)];
    assert.deepEqual(
      chunks.map((c) => c.length),
      [1, 1, 1],
    );
  });
});
