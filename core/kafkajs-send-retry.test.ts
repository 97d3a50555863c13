/**
 * The patched kafkajs send (patches/kafkajs+2.2.4.patch, tulios/kafkajs#1303): a send to two
 * partitions whose leaders are two brokers, one of which answers NOT_LEADER_OR_FOLLOWER because its
 * partition's leadership moved to the other. As published, the retry skipped every broker that had
 * answered once, so the moved partition was never sent again and send() resolved without it: a
 * transaction then committed without those records. The cluster chaos run lost 105 flights so
 * (`npm run chaos -- --cluster`, BENCHMARKS.md). Patched, responses are kept per partition.
 *
 * And a send to two partitions led by two brokers, one of which refuses at once (NOT_LEADER, a
 * moment of a leader election) while the other is still waiting for its replicas. As published, the
 * retry was built while the slow request was in flight: it sent the slow partition's messages again,
 * after the first answer had advanced the partition's sequence, and the broker, seeing a new
 * sequence, appended them a second time. Patched, a retry waits until every request has settled.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

interface Produced {
  topicData: { topic: string; partitions: { partition: number; firstSequence: number; messages: object[] }[] }[];
}
type Send = (options: {
  acks: number;
  timeout: number;
  topicMessages: { topic: string; messages: { key: string; value: string }[] }[];
}) => Promise<{ topicName: string; partition: number; errorCode: number }[]>;

const require = createRequire(import.meta.url);
const createSendMessages = require('kafkajs/src/producer/sendMessages.js') as (options: object) => Send;
const createRetry = require('kafkajs/src/retry/index.js') as (options: object) => object;
const { KafkaJSProtocolError } = require('kafkajs/src/errors.js') as {
  KafkaJSProtocolError: new (error: { type: string; code: number; retriable: boolean; message: string }) => Error;
};
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One message to partition 0 and one to partition 1 of `topic`, through kafkajs' send with a fast retrier. */
function sendTwoPartitions(cluster: object, eosManager: object, topic: string) {
  const send = createSendMessages({
    logger: silent,
    cluster,
    eosManager,
    partitioner: ({ message }: { message: { key: string } }) => Number(message.key),
    retrier: createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 5 }),
  });
  return send({
    acks: -1,
    timeout: 1000,
    topicMessages: [
      {
        topic,
        messages: [
          { key: '0', value: 'a' },
          { key: '1', value: 'b' },
        ],
      },
    ],
  });
}

/** What a broker throws for a partition it no longer leads. */
const notLeader = () =>
  new KafkaJSProtocolError({
    type: 'NOT_LEADER_OR_FOLLOWER',
    code: 6,
    retriable: true,
    message: 'This server is not the leader for that topic-partition',
  });

/** A produce answer with no error for every partition of the request. */
const answered = ({ topicData }: Produced) => ({
  topics: topicData.map((t) => ({
    topicName: t.topic,
    partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: '0' })),
  })),
});

/** The cluster kafkajs' send sees: partitions 0 and 1 of one topic, led as `leaders()` says today. */
function twoPartitionCluster(
  brokers: Record<1 | 2, object>,
  leaders: () => Record<number, number>,
  refreshMetadata: () => Promise<void>,
) {
  return {
    targetTopics: new Set(),
    addMultipleTargetTopics: async () => {},
    refreshMetadataIfNecessary: async () => {},
    refreshMetadata,
    isConnected: () => true,
    findTopicPartitionMetadata: () => [0, 1].map((partitionId) => ({ partitionId, leader: leaders()[partitionId] })),
    findLeaderForPartitions: (_topic: string, partitions: string[]) => {
      const out: Record<number, number[]> = {};
      for (const p of partitions.map(Number)) (out[leaders()[p]!] ??= []).push(p);
      return out;
    },
    findBroker: async ({ nodeId }: { nodeId: number }) => brokers[nodeId as 1 | 2],
  };
}

/**
 * Broker 2 leads both partitions now, but the producer's metadata still says broker 1 leads
 * partition 0, until broker 1's NOT_LEADER answer makes it refresh.
 */
function movingCluster() {
  const truth: Record<number, number> = { 0: 2, 1: 2 };
  let leaders: Record<number, number> = { 0: 1, 1: 2 };
  const produced: Record<number, number[]> = { 1: [], 2: [] };
  const broker = (nodeId: number) => ({
    nodeId,
    produce: async ({ topicData }: Produced) => {
      const partitions = topicData.flatMap((t) => t.partitions.map((p) => p.partition));
      if (partitions.some((p) => truth[p] !== nodeId)) {
        throw notLeader();
      }
      produced[nodeId]!.push(...partitions);
      return answered({ topicData });
    },
  });
  const brokers = { 1: broker(1), 2: broker(2) };
  const cluster = twoPartitionCluster(
    brokers,
    () => leaders,
    async () => {
      leaders = { ...truth };
    },
  );
  const eosManager = {
    isTransactional: () => false,
    acquireBrokerLock: async () => {},
    releaseBrokerLock: async () => {},
    getSequence: () => 0,
    updateSequence: () => {},
    getProducerId: () => -1,
    getProducerEpoch: () => 0,
  };
  return { cluster, eosManager, produced };
}

/**
 * Broker 1 leads partition 0 and refuses its first request; broker 2 leads partition 1 and answers
 * after 100 ms. Each broker appends a batch unless its first sequence is one it has appended (the
 * broker's idempotence); the producer's sequences and per-broker locks behave as kafkajs' own.
 */
function slowAndFailingCluster() {
  const appended: Record<number, number[]> = { 0: [], 1: [] };
  let refused = false;
  const broker = (nodeId: number) => ({
    nodeId,
    produce: async ({ topicData }: Produced) => {
      if (nodeId === 1 && !refused) {
        refused = true;
        throw notLeader();
      }
      if (nodeId === 2) await sleep(100);
      for (const p of topicData.flatMap((t) => t.partitions)) {
        const batches = appended[p.partition]!;
        if (!batches.includes(p.firstSequence)) batches.push(p.firstSequence);
      }
      return answered({ topicData });
    },
  });
  const brokers = { 1: broker(1), 2: broker(2) };
  const leaders: Record<number, number> = { 0: 1, 1: 2 };
  const cluster = twoPartitionCluster(
    brokers,
    () => leaders,
    async () => {},
  );
  const sequences: Record<number, number> = { 0: 0, 1: 0 };
  const locks = new Map<number, Promise<void>>();
  const released = new Map<number, () => void>();
  const eosManager = {
    isTransactional: () => false,
    acquireBrokerLock: async ({ nodeId }: { nodeId: number }) => {
      while (locks.has(nodeId)) await locks.get(nodeId);
      locks.set(nodeId, new Promise<void>((resolve) => released.set(nodeId, resolve)));
    },
    releaseBrokerLock: async ({ nodeId }: { nodeId: number }) => {
      locks.delete(nodeId);
      released.get(nodeId)!();
    },
    getSequence: (_topic: string, partition: number) => sequences[partition]!,
    updateSequence: (_topic: string, partition: number, increment: number) => {
      sequences[partition]! += increment;
    },
    getProducerId: () => 7,
    getProducerEpoch: () => 0,
  };
  return { cluster, eosManager, appended };
}

describe('kafkajs send when a partition leader moves (patched)', () => {
  it('sends the moved partition again, to its new leader, even though that broker answered already', async () => {
    const { cluster, eosManager, produced } = movingCluster();
    const answers = await sendTwoPartitions(cluster, eosManager, 'flights');
    assert.deepEqual(answers.map((a) => a.partition).sort(), [0, 1], 'an answer for each partition');
    assert.deepEqual(produced, { 1: [], 2: [1, 0] }, 'partition 0 went to broker 2 after broker 1 refused it');
  });
});

describe('kafkajs send when one broker refuses while another is slow (patched)', () => {
  it('sends the slow partition once: the retry waits for its request to settle', async () => {
    const { cluster, eosManager, appended } = slowAndFailingCluster();
    const answers = await sendTwoPartitions(cluster, eosManager, 'statements');
    assert.deepEqual(answers.map((a) => a.partition).sort(), [0, 1], 'an answer for each partition');
    assert.deepEqual(appended, { 0: [0], 1: [0] }, 'each partition appended one batch, at sequence 0');
  });
});
