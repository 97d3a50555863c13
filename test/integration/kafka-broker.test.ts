/**
 * Proves the pinned broker (Kafka 3.9, KRaft) works with kafkajs where Millrace depends on it:
 * transactions (committed visible, aborted invisible under read_committed, offsets sent in the
 * transaction, and not read as committed before the transaction ends when read stably) and consumer
 * groups sharing partitions.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Admin, EachMessagePayload, Producer } from 'kafkajs';
import { createKafka, producerDefaults } from '../../core/kafka.ts';
import { eventually } from '../../testkit/helpers.ts';

const kafka = createKafka('millrace-test');
const unique = (name: string) => `test.${name}_${randomBytes(4).toString('hex')}.raw`;

/** A connected transactional producer, as Millrace's processors make them. */
async function transactionalProducer(transactionalId: string): Promise<Producer> {
  const producer = kafka.producer({ ...producerDefaults, transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return producer;
}

describe('kafkajs against the local broker', () => {
  let admin: Admin;
  before(async () => {
    admin = kafka.admin();
    await admin.connect();
  });
  after(() => admin.disconnect());

  it('transactions: committed records are read, aborted ones are not (read_committed)', async () => {
    const topic = unique('txn');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = await transactionalProducer(`test-${topic}`);
    try {
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
      await aborted.abort();
      const committed = await producer.transaction();
      await committed.send({ topic, messages: [{ value: 'committed-1' }, { value: 'committed-2' }] });
      await committed.commit();
    } finally {
      await producer.disconnect();
    }

    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId: `test-${topic}`, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
    try {
      await eventually('committed records', () => (seen.length >= 2 ? true : undefined));
      await new Promise((r) => setTimeout(r, 1000)); // give an aborted record the chance to show up
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(seen, ['committed-1', 'committed-2']);
  });

  it('transactions: consumer offsets sent in the transaction are committed with it', async () => {
    const input = unique('txn_in');
    const output = unique('txn_out');
    await admin.createTopics({
      topics: [
        { topic: input, numPartitions: 1 },
        { topic: output, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    const seed = kafka.producer(producerDefaults);
    await seed.connect();
    await seed.send({ topic: input, messages: Array.from({ length: 10 }, (_, i) => ({ value: `r${i}` })) });
    await seed.disconnect();

    const groupId = `test-eos-${input}`;
    const producer = await transactionalProducer(`test-eos-${input}-0`);
    const txn = await producer.transaction();
    await txn.send({ topic: output, messages: [{ value: 'derived' }] });
    await txn.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '7' }] }],
    });
    await txn.commit();
    await producer.disconnect();

    // the coordinator materialises transactional offsets when the commit marker lands
    const offset = await eventually(
      'the transactional offset commit',
      async () => {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [input] });
        const value = committed?.partitions[0]?.offset;
        return value === '-1' ? undefined : value;
      },
      15_000,
    );
    assert.equal(offset, '7');
  });

  it('offsets a transaction has sent but not ended: a plain read gives the offset before them, a stable read refuses, a stable read of another partition answers (patched OffsetFetch v7)', async () => {
    const topic = unique('stable');
    const groupId = `test-group-${topic}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.setOffsets({
      groupId,
      topic,
      partitions: [
        { partition: 0, offset: '5' },
        { partition: 1, offset: '3' },
      ],
    });
    const producer = await transactionalProducer(`test-${topic}`);
    try {
      const txn = await producer.transaction();
      await txn.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic, partitions: [{ partition: 0, offset: '9' }] }],
      });
      const offsetOf = async (requireStable: boolean) =>
        (await admin.fetchOffsets({ groupId, topics: [topic], requireStable }))[0]!.partitions[0]!.offset;
      assert.equal(await offsetOf(false), '5', 'the plain read: the offset before the pending commit');
      await assert.rejects(
        offsetOf(true),
        (error: Error & { type?: string }) => error.type === 'UNSTABLE_OFFSET_COMMIT',
      );
      const [other] = await admin.fetchOffsets({ groupId, topics: [{ topic, partitions: [1] }], requireStable: true });
      assert.deepEqual(
        other!.partitions.map(({ partition, offset }) => ({ partition, offset })),
        [{ partition: 1, offset: '3' }],
        'partition 1 alone, asked for alone, has nothing pending',
      );
      await txn.commit();
      // applied a moment after the commit: asked again until it is
      const applied = await eventually('the committed offset', async () =>
        offsetOf(true).then(
          (offset) => (offset === '9' ? offset : undefined),
          () => undefined,
        ),
      );
      assert.equal(applied, '9');
    } finally {
      await producer.disconnect();
    }
  });

  it('consumer groups: two members share six partitions and every record is read once', async () => {
    const topic = unique('group');
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    const groupId = `test-${topic}`;
    const byMember: Map<number, Set<number>> = new Map();
    const values: string[] = [];
    const members = [0, 1].map((member) => {
      const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
      byMember.set(member, new Set());
      return { member, consumer };
    });
    for (const { member, consumer } of members) {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }: EachMessagePayload) => {
          byMember.get(member)!.add(partition);
          values.push(String(message.value));
        },
      });
    }
    try {
      // produce once the group is stable, so no rebalance can replay uncommitted records
      await eventually('a stable group of two', async () => {
        const { groups } = await admin.describeGroups([groupId]);
        return groups[0]?.state === 'Stable' && groups[0].members.length === 2 ? true : undefined;
      });
      const producer = kafka.producer(producerDefaults);
      await producer.connect();
      await producer.send({
        topic,
        messages: Array.from({ length: 600 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
      });
      await producer.disconnect();
      await eventually('600 records', () => (values.length >= 600 ? true : undefined));
      await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive now
    } finally {
      await Promise.all(members.map(({ consumer }) => consumer.disconnect()));
    }
    assert.equal(values.length, 600);
    assert.equal(new Set(values).size, 600);
    assert.ok(byMember.get(0)!.size > 0 && byMember.get(1)!.size > 0, 'both members got partitions');
    const union = new Set([...byMember.get(0)!, ...byMember.get(1)!]);
    assert.equal(union.size, 6);
  });
});
