/**
 * The patched kafkajs filter (patches/kafkajs+2.2.4.patch): what a read_committed consumer keeps
 * when several producers' transactions interleave in one partition and some are aborted. The
 * broker lists aborted transactions in abort order, not by first offset; kafkajs 2.2.4 as
 * published assumed the latter and leaked aborted records (seen in the crash test).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

interface Message {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}
type Filter = (input: {
  messages: Message[];
  abortedTransactions: { producerId: string; firstOffset: string }[];
}) => Message[];

const filterAbortedMessages = createRequire(import.meta.url)('kafkajs/src/consumer/filterAbortedMessages.js') as Filter;

const record = (offset: number, producerId: string): Message => ({
  offset: String(offset),
  key: Buffer.from(`r${offset}`),
  batchContext: { producerId, inTransaction: true },
});
const marker = (offset: number, producerId: string, commit: boolean): Message => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, commit ? 1 : 0]),
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});
const kept = (messages: Message[]) => messages.filter((m) => !m.isControlRecord).map((m) => Number(m.offset));

describe('kafkajs read_committed: aborted transactions filter (patched)', () => {
  it('drops interleaved aborted transactions listed in abort order', () => {
    // producer 1 aborts [0, 2], producer 2 aborts [1, 3] and is aborted first, producer 3 commits [4, 5]
    const messages = [
      record(0, '1'),
      record(1, '2'),
      record(2, '1'),
      record(3, '2'),
      marker(4, '2', false),
      record(5, '3'),
      marker(6, '1', false),
      record(7, '3'),
      marker(8, '3', true),
    ];
    const abortedTransactions = [
      { producerId: '2', firstOffset: '1' },
      { producerId: '1', firstOffset: '0' },
    ];
    assert.deepEqual(kept(filterAbortedMessages({ messages, abortedTransactions })), [5, 7]);
  });

  it('drops every aborted transaction that started before the first fetched message', () => {
    // a fetch from offset 10: two aborted transactions began earlier (at 3 and 7)
    const messages = [
      record(10, '1'),
      record(11, '2'),
      record(12, '4'),
      marker(13, '1', false),
      marker(14, '2', false),
      record(15, '1'),
    ];
    const abortedTransactions = [
      { producerId: '2', firstOffset: '7' },
      { producerId: '1', firstOffset: '3' },
    ];
    assert.deepEqual(kept(filterAbortedMessages({ messages, abortedTransactions })), [12, 15]);
  });

  it('keeps a producer’s next, committed transaction after its aborted one', () => {
    const messages = [record(0, '1'), marker(1, '1', false), record(2, '1'), marker(3, '1', true)];
    assert.deepEqual(
      kept(filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '1', firstOffset: '0' }] })),
      [2],
    );
  });
});
