/**
 * The transactional producers of one processor: one per input partition it owns, transactionalId
 * derived from the processor, topic and partition (kafkajs' TxnOffsetCommit stops at v1, so only a
 * producer per partition fences a previous owner). Created when a partition is first seen in a
 * batch, dropped when it is revoked, when this process rejoins as a new member, or when a batch
 * leaves the producer in doubt.
 */
import type { ConsumerGroupJoinEvent, Kafka, Producer } from 'kafkajs';
import { producerDefaults } from '../../core/kafka.ts';
import type { Logger } from '../../core/logger.ts';
import { transactionalIdOf } from './spec.ts';
import type { StateStore } from './state.ts';

/** The one producer allowed to write on behalf of an input partition. */
export interface PartitionOwner {
  key: string;
  producer: Producer;
  /** Next offset to process: unknown until the producer is initialised, then read; null: nothing committed. */
  next: bigint | null | undefined;
  /** The partition's keyed state (specs with `state`), restored once the producer has fenced the previous owner. */
  state?: StateStore;
}

const keyOf = (topic: string, partition: number) => `${topic}|${partition}`;

export class PartitionOwners {
  private readonly owners = new Map<string, PartitionOwner>();
  private readonly closing = new Set<Promise<void>>();
  private memberId: string | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly processor: string,
    private readonly transactionTimeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** The partition's owner, with a new (connected, not yet initialised) producer if it has none. */
  async ownerOf(topic: string, partition: number): Promise<PartitionOwner> {
    const key = keyOf(topic, partition);
    let owner = this.owners.get(key);
    if (!owner) {
      const producer = this.kafka.producer({
        ...producerDefaults,
        transactionalId: transactionalIdOf(this.processor, topic, partition),
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: this.transactionTimeoutMs,
      });
      await producer.connect();
      owner = { key, producer, next: undefined };
      this.owners.set(key, owner);
    }
    return owner;
  }

  /** Forgets a partition's producer: the next batch of it starts with a fresh one (and a fresh fence). */
  discard(owner: PartitionOwner, reason: string): void {
    if (this.owners.get(owner.key) === owner) this.owners.delete(owner.key);
    this.log.debug({ partition: owner.key, reason }, 'dropping partition producer');
    const done = owner.producer
      .disconnect()
      .catch((error: Error) => this.log.warn({ err: error }, 'producer disconnect failed'));
    this.closing.add(done);
    void done.finally(() => this.closing.delete(done));
  }

  /**
   * The group assigned partitions: drops the producers of those no longer ours, or of all after a
   * rejoin as a new member. Returns the assigned partitions (`topic|partition`), sorted.
   */
  assigned(payload: ConsumerGroupJoinEvent['payload']): { memberId: string; partitions: string[] } {
    // kafkajs rejoins only once every batch in flight has finished, so no producer dropped here is in use
    const assigned = new Set(
      Object.entries(payload.memberAssignment).flatMap(([topic, ps]) => ps.map((p) => keyOf(topic, p))),
    );
    // a new member id means this process was out of the group for a while: someone else may have owned any partition
    const rejoined = this.memberId !== undefined && payload.memberId !== this.memberId;
    this.memberId = payload.memberId;
    for (const owner of [...this.owners.values()]) {
      if (rejoined || !assigned.has(owner.key)) this.discard(owner, rejoined ? 'rejoined as a new member' : 'revoked');
    }
    return { memberId: payload.memberId, partitions: [...assigned].sort() };
  }

  /** The consumer crashed: every producer goes, and the next join counts as a fresh one. */
  crashed(): void {
    this.discardAll('consumer crashed');
    this.memberId = undefined;
  }

  /** Drops every producer and waits until each has disconnected. */
  async close(): Promise<void> {
    this.discardAll('stopping');
    await Promise.all([...this.closing]);
  }

  private discardAll(reason: string): void {
    for (const owner of [...this.owners.values()]) this.discard(owner, reason);
  }
}
