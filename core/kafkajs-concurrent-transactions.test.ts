/**
 * The patched kafkajs transaction manager (patches/kafkajs+2.2.4.patch): a transaction begun right
 * after a commit finds the coordinator still writing the previous one's markers, and adding its
 * partitions or its consumer offsets is answered CONCURRENT_TRANSACTIONS until that is done. The
 * patch retries those two requests itself every 20 ms, as the Java client does; as published, the
 * error went up to the send's retrier (300 ms or more, a metadata refresh and an error log each
 * time), and AddOffsetsToTxn was not retried at all. Any other error still reaches the caller.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

interface EosManager {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  addPartitionsToTransaction(topics: { topic: string; partitions: { partition: number }[] }[]): Promise<void>;
  sendOffsets(offsets: { consumerGroupId: string; topics: object[] }): Promise<void>;
}
type CreateEosManager = (options: object) => EosManager;

const require = createRequire(import.meta.url);
const createEosManager = require('kafkajs/src/producer/eosManager/index.js') as CreateEosManager;
const { KafkaJSProtocolError } = require('kafkajs/src/errors.js') as {
  KafkaJSProtocolError: new (error: { type: string; code: number; retriable: boolean; message: string }) => Error;
};
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const protocolError = (type: string, code: number) =>
  new KafkaJSProtocolError({ type, code, retriable: true, message: `${type} from the test coordinator` });
const concurrent = () => protocolError('CONCURRENT_TRANSACTIONS', 51);

/** A coordinator that answers each request kind with the queued errors first, then success. */
function coordinator(errors: { addPartitionsToTxn?: Error[]; addOffsetsToTxn?: Error[] }) {
  const calls = { addPartitionsToTxn: 0, addOffsetsToTxn: 0, txnOffsetCommit: 0 };
  const answer = (kind: 'addPartitionsToTxn' | 'addOffsetsToTxn') => async () => {
    calls[kind]++;
    const error = errors[kind]?.shift();
    if (error) throw error;
  };
  const broker = {
    initProducerId: async () => ({ producerId: 7, producerEpoch: 0 }),
    addPartitionsToTxn: answer('addPartitionsToTxn'),
    addOffsetsToTxn: answer('addOffsetsToTxn'),
    txnOffsetCommit: async () => {
      calls.txnOffsetCommit++;
    },
  };
  const cluster = {
    retry: { retries: 0 },
    refreshMetadataIfNecessary: async () => {},
    findGroupCoordinator: async () => broker,
  };
  return { cluster, calls };
}

async function transacting(cluster: object): Promise<EosManager> {
  const eos = createEosManager({ logger: silent, cluster, transactional: true, transactionalId: 't' });
  await eos.initProducerId();
  eos.beginTransaction();
  return eos;
}

describe('kafkajs transactions right after a commit (patched)', () => {
  it('adds the partitions once the previous transaction has ended', async () => {
    const { cluster, calls } = coordinator({ addPartitionsToTxn: [concurrent(), concurrent(), concurrent()] });
    const eos = await transacting(cluster);
    await eos.addPartitionsToTransaction([{ topic: 'out', partitions: [{ partition: 0 }] }]);
    assert.equal(calls.addPartitionsToTxn, 4);
  });

  it('adds the offsets once the previous transaction has ended, then commits them', async () => {
    const { cluster, calls } = coordinator({ addOffsetsToTxn: [concurrent(), concurrent()] });
    const eos = await transacting(cluster);
    await eos.sendOffsets({
      consumerGroupId: 'g',
      topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '5' }] }],
    });
    assert.deepEqual(calls, { addPartitionsToTxn: 0, addOffsetsToTxn: 3, txnOffsetCommit: 1 });
  });

  it('hands any other error to the caller at once', async () => {
    const fenced = protocolError('INVALID_PRODUCER_EPOCH', 47);
    const { cluster, calls } = coordinator({ addPartitionsToTxn: [fenced] });
    const eos = await transacting(cluster);
    await assert.rejects(eos.addPartitionsToTransaction([{ topic: 'out', partitions: [{ partition: 0 }] }]), fenced);
    assert.equal(calls.addPartitionsToTxn, 1);
  });
});
