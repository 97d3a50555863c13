/**
 * The processor runtime: consume-transform-produce, exactly-once, for any `ProcessorSpec`.
 *
 * Every fetched batch of one input partition becomes one Kafka transaction holding the output
 * records (those of side outputs too), the DLQ records and the consumer offset (last offset + 1).
 * A failure anywhere aborts it and the batch is fetched again from the last committed position;
 * the consumer reads with read_committed and commits nothing itself.
 *
 * Fencing (kafkajs' TxnOffsetCommit stops at v1, so the broker cannot fence by consumer
 * generation): each input partition has its own transactional producer, transactionalId
 * `millrace.processor.<name>.<topic>.<partition>`, created when the partition is first seen in a
 * batch and dropped when it is revoked. Initialising that id on the new owner bumps its epoch: the
 * previous owner's open transaction is aborted (or, if it was already committing, waited for), and
 * anything that owner still tries to write is refused. Only after that does the new owner read the
 * group's committed offset for the partition, and it skips records below it: the position kafkajs
 * fetched when the partition was assigned may predate the previous owner's last commit.
 */
import type { Admin, Consumer, Kafka, KafkaMessage, Message, Producer, Transaction } from 'kafkajs';
import { catalogueKey } from '../../core/catalogue.ts';
import type { ConsumedRecord } from '../../core/consumer.ts';
import { toDlqMessage } from '../../core/dlq.ts';
import { createKafka, producerDefaults } from '../../core/kafka.ts';
import { chunkMessages } from '../../core/message-chunks.ts';
import { createLogger, type Logger } from '../../core/logger.ts';
import { metrics } from '../../core/metrics.ts';
import { RecordInvalidError, Registry, UndecodableError } from '../../core/schema-registry.ts';
import type { ReplayRange } from '../../core/replay-range.ts';
import { dlqTopicOf, valueSubjectOf } from '../../schemas/topic-spec.ts';
import { LINEAGE_HEADER, processorGroupOf, transactionalIdOf, type ProcessorSpec } from './spec.ts';
import { ensureChangelog, restoreState, type StateStore } from './state.ts';
import { MillraceError } from '../../core/errors.ts';

export interface ProcessorOptions {
  kafka?: Kafka;
  registry?: Registry;
  log?: Logger;
  /** Input partitions processed at the same time, each in its own transaction (default 3). */
  concurrency?: number;
  /**
   * A member silent this long loses its partitions (kafkajs default 30 s; the broker's minimum is
   * 6 s). kafkajs heartbeats between batches, so a batch must take less than this.
   */
  sessionTimeoutMs?: number;
  /** Kafka aborts a transaction left open this long by a dead owner (default 60 s). */
  transactionTimeoutMs?: number;
  /** The consumer crashed and kafkajs will not restart it: the processor has stopped working. */
  onFatal?: (error: Error) => void;
  /**
   * Re-run a slice of the input instead of following it: start at `from`, stop at `until`, call
   * `onDone` once every partition got there. Give the spec a name of its own (its consumer group
   * and transactional ids): the outputs are produced again, and idempotent sinks absorb them.
   */
  replay?: ReplayRange & { onDone: () => void };
}

export interface RunningProcessor {
  /** Lets the batch in flight commit (or abort), then leaves the group and closes every client. */
  stop(): Promise<void>;
  /** Resolves when the group has assigned partitions to this member for the first time. */
  joined: Promise<void>;
}

/** Thrown out of a batch so that kafkajs re-delivers it: always retriable (kafkajs gives up on some). */
export class BatchFailedError extends MillraceError {
  override name = 'BatchFailedError';
  override readonly code = 'batch_failed';
  override readonly retriable = true;
}

/** The one producer allowed to write on behalf of an input partition. */
interface PartitionOwner {
  key: string;
  producer: Producer;
  /** Next offset to process: unknown until the producer is initialised, then read; null: nothing committed. */
  next: bigint | null | undefined;
  /** The partition's keyed state (specs with `state`), restored once the producer has fenced the previous owner. */
  state?: StateStore;
}

export async function runProcessor<In, Out extends { id: string }>(
  spec: ProcessorSpec<In, Out>,
  options: ProcessorOptions = {},
): Promise<RunningProcessor> {
  const kafka = options.kafka ?? createKafka(`millrace-processor-${spec.name}`);
  const registry = options.registry ?? new Registry();
  const log = options.log ?? createLogger('processor', { processor: spec.name });
  const groupId = processorGroupOf(spec.name);
  const stage = `processor.${spec.name}`;
  const outputs = new Set([spec.output, ...(spec.sideOutputs ?? [])]);
  const recordKeyOf = (target: string, value: Out) => (spec.key ? spec.key(value) : catalogueKey(target, value));
  const labels = { role: 'processor', name: spec.name };
  // a replay runs under another name: its state writes would corrupt the live processor's changelog
  if (spec.state && options.replay) throw new Error(`processor ${spec.name} keeps state; replay its input through the live processor instead`);

  const consumer: Consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    ...(options.sessionTimeoutMs
      ? { sessionTimeout: options.sessionTimeoutMs, heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeoutMs / 5)) }
      : {}),
  });
  const admin: Admin = kafka.admin();
  await Promise.all([consumer.connect(), admin.connect()]);

  const owners = new Map<string, PartitionOwner>();
  const closing = new Set<Promise<void>>();
  const keyOf = (topic: string, partition: number) => `${topic}|${partition}`;

  /** Forgets a partition's producer: the next batch of it starts with a fresh one (and a fresh fence). */
  const discard = (owner: PartitionOwner, reason: string): void => {
    if (owners.get(owner.key) === owner) owners.delete(owner.key);
    log.debug({ partition: owner.key, reason }, 'dropping partition producer');
    const done = owner.producer.disconnect().catch((error: Error) => log.warn({ err: error }, 'producer disconnect failed'));
    closing.add(done);
    void done.finally(() => closing.delete(done));
  };

  const ownerOf = async (topic: string, partition: number): Promise<PartitionOwner> => {
    const key = keyOf(topic, partition);
    let owner = owners.get(key);
    if (!owner) {
      const producer = kafka.producer({
        ...producerDefaults,
        transactionalId: transactionalIdOf(spec.name, topic, partition),
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: options.transactionTimeoutMs ?? 60_000,
      });
      await producer.connect();
      owner = { key, producer, next: undefined };
      owners.set(key, owner);
    }
    return owner;
  };

  /** The group's committed offset of one partition, or null when there is none. */
  const committedOffset = async (topic: string, partition: number): Promise<bigint | null> => {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const offset = committed?.partitions.find((p) => p.partition === partition)?.offset;
    return offset === undefined || offset === '-1' ? null : BigInt(offset);
  };

  /** Decode, transform, encode: the messages to write and the dead letters, nothing sent yet. */
  const processMessages = async (topic: string, partition: number, messages: KafkaMessage[], state: StateStore | undefined) => {
    const records: ConsumedRecord<In>[] = [];
    const originals: KafkaMessage[] = [];
    const dead: Message[] = [];
    const toDlq = (message: KafkaMessage, error: Error) => {
      log.warn({ topic, partition, offset: message.offset, errorClass: error.name, reason: error.message }, 'record to DLQ');
      dead.push(toDlqMessage({ topic, partition, message }, error, stage));
    };
    for (const message of messages) {
      try {
        const { schemaId, value } = await registry.decode<In>(message.value);
        records.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          schemaId,
          timestamp: message.timestamp,
          headers: message.headers ?? {},
          value,
        });
        originals.push(message);
      } catch (error) {
        if (!(error instanceof UndecodableError)) throw error; // the registry is down: abort and retry
        toDlq(message, error);
      }
    }

    const results = records.length > 0 ? await spec.transform(records, state ? { log, state } : { log }) : [];
    if (!Array.isArray(results) || results.length !== records.length) {
      throw new Error(`transform of ${spec.name} returned ${Array.isArray(results) ? results.length : typeof results} result(s) for ${records.length} record(s)`);
    }
    const out = new Map<string, Message[]>([...outputs].map((topic) => [topic, []]));
    for (const [i, result] of results.entries()) {
      const message = originals[i]!;
      if (result instanceof Error) {
        toDlq(message, result);
        continue;
      }
      if (!Array.isArray(result)) throw new Error(`transform of ${spec.name} returned neither an array nor an Error for offset ${message.offset}`);
      const headers = {
        [LINEAGE_HEADER.sourceTopic]: topic,
        [LINEAGE_HEADER.sourcePartition]: String(partition),
        [LINEAGE_HEADER.sourceOffset]: message.offset,
      };
      try {
        const encoded: [string, Message][] = [];
        for (const value of result) {
          const target = spec.route ? spec.route(value) : spec.output;
          if (!outputs.has(target)) throw new Error(`transform of ${spec.name} routed a record to ${target}, neither its output nor a side output`);
          encoded.push([target, { key: recordKeyOf(target, value), value: await registry.encode(valueSubjectOf(target), value), headers }]);
        }
        for (const [target, message] of encoded) out.get(target)!.push(message);
      } catch (error) {
        if (!(error instanceof RecordInvalidError)) throw error;
        toDlq(message, error); // the transform made something the output schema refuses: this record's fault
      }
    }
    return { out, dead, decoded: records.length };
  };

  const sendChunked = async (txn: Transaction, topic: string, messages: Message[]) => {
    for (const chunk of chunkMessages(messages)) await txn.send({ topic, messages: chunk, acks: -1 });
  };

  let markJoined: () => void = () => {};
  const joined = new Promise<void>((resolve) => (markJoined = resolve));
  let memberId: string | undefined;
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // kafkajs rejoins only once every batch in flight has finished, so no producer dropped here is in use
    const assigned = new Set(Object.entries(payload.memberAssignment).flatMap(([topic, ps]) => ps.map((p) => keyOf(topic, p))));
    // a new member id means this process was out of the group for a while: someone else may have owned any partition
    const rejoined = memberId !== undefined && payload.memberId !== memberId;
    memberId = payload.memberId;
    for (const owner of [...owners.values()]) {
      if (rejoined || !assigned.has(owner.key)) discard(owner, rejoined ? 'rejoined as a new member' : 'revoked');
    }
    log.info({ memberId, partitions: [...assigned].sort() }, 'partitions assigned');
    markJoined();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    for (const owner of [...owners.values()]) discard(owner, 'consumer crashed');
    memberId = undefined;
    log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    if (!payload.restart) options.onFatal?.(payload.error);
  });

  const replay = options.replay;
  /** Replay progress per input partition: the next offset to re-run (starts at `from`). */
  const replayed = new Map<number, bigint>();
  const sought = new Set<number>();
  let announcedDone = false;
  const checkReplayDone = () => {
    if (!replay || announcedDone) return;
    if (![...replay.until].every(([p, until]) => (replayed.get(p) ?? replay.from.get(p)!) >= until)) return;
    announcedDone = true;
    log.info({ topic: replay.topic }, 'replay reached the end of its range');
    replay.onDone();
  };
  consumer.on(consumer.events.GROUP_JOIN, () => checkReplayDone());

  if (spec.state) await ensureChangelog(admin, spec.state.topic, spec.input);
  await consumer.subscribe({ topic: spec.input, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.concurrency ?? 3,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      if (batch.messages.length === 0) return;
      const started = performance.now();
      const { topic, partition } = batch;
      let lastOffset = batch.lastOffset(); // may be a transaction marker after the last record
      const until = replay?.until.get(partition);
      if (replay) {
        const from = replay.from.get(partition) ?? until ?? 0n;
        if (!sought.has(partition) && BigInt(batch.messages[0]!.offset) < from) {
          sought.add(partition);
          consumer.seek({ topic, partition, offset: String(from) });
          return;
        }
        if (until === undefined || BigInt(batch.messages[0]!.offset) >= until) return; // past the range: nothing more to do here
        if (BigInt(lastOffset) >= until) lastOffset = String(until - 1n);
      }
      const owner = await ownerOf(topic, partition).catch((error: Error) => {
        throw new BatchFailedError(`cannot start the producer of ${topic}[${partition}]: ${error.message}`, { cause: error });
      });

      let txn: Transaction | undefined;
      let counts = { in: 0, out: 0, dead: 0 };
      try {
        // the first transaction initialises the producer id: the fence; it waits for the previous owner's transaction to end
        txn = await owner.producer.transaction();
        if (owner.next === undefined || owner.next === null) {
          owner.next = await committedOffset(topic, partition);
          if (spec.state) owner.state = await restoreState(kafka, spec.state.topic, partition, log);
          log.debug({ topic, partition, committed: String(owner.next), fetchedFrom: batch.firstOffset() }, 'partition producer ready');
        }
        const floor = owner.next;
        const messages = batch.messages.filter((m) => (floor === null || BigInt(m.offset) >= floor) && BigInt(m.offset) <= BigInt(lastOffset));
        if (messages.length > 0) {
          const { out, dead } = await processMessages(topic, partition, messages, owner.state);
          for (const [target, messages] of out) if (messages.length > 0) await sendChunked(txn, target, messages);
          const changes = owner.state?.changes(partition) ?? [];
          if (changes.length > 0) await sendChunked(txn, spec.state!.topic, changes);
          if (dead.length > 0) await sendChunked(txn, dlqTopicOf(topic), dead);
          const next = (BigInt(lastOffset) + 1n).toString();
          await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition, offset: next }] }] });
          counts = { in: messages.length, out: [...out.values()].reduce((n, m) => n + m.length, 0), dead: dead.length };
        } else {
          log.info({ topic, partition, firstOffset: batch.firstOffset(), lastOffset, committed: String(floor) }, 'skipping records the previous owner committed');
        }
        await txn.commit(); // nothing registered (all skipped): ends locally, no request
        owner.state?.commit();
      } catch (error) {
        owner.state?.rollback();
        let aborted = false;
        try {
          if (txn?.isActive()) await txn.abort();
          aborted = true;
        } catch (abortError) {
          log.warn({ err: abortError }, 'abort failed');
        }
        // a Kafka-side failure (fenced, coordinator moved, timed out) leaves the producer in doubt: start over with a new one
        const kafkaSide = (error as Error).name.startsWith('KafkaJS');
        if (!aborted || kafkaSide) discard(owner, `batch failed: ${(error as Error).message}`);
        log.warn({ topic, partition, firstOffset: batch.firstOffset(), lastOffset, err: error }, 'batch aborted, will be retried');
        throw new BatchFailedError(`batch ${topic}[${partition}] ${batch.firstOffset()}..${lastOffset} aborted: ${(error as Error).message}`, {
          cause: error,
        });
      }
      owner.next = BigInt(lastOffset) + 1n;
      if (replay) replayed.set(partition, owner.next);
      // resolve moves the fetch position (without it kafkajs fetches the same batch again); the commit made it durable
      resolveOffset(lastOffset);

      metrics.recordsIn.inc(labels, counts.in);
      metrics.recordsOut.inc(labels, counts.out);
      metrics.dlq.inc(labels, counts.dead);
      metrics.batchSize.observe(labels, counts.in);
      metrics.batchSeconds.observe(labels, (performance.now() - started) / 1000);
      metrics.lag.set({ ...labels, topic, partition: String(partition) }, Number(BigInt(batch.highWatermark) - (BigInt(lastOffset) + 1n)));
      log.debug({ topic, partition, lastOffset, ...counts }, 'batch committed');
      checkReplayDone();
      await heartbeat(); // may throw "rebalancing": kafkajs rejoins, the batch is already committed
    },
  });

  let stopping: Promise<void> | undefined;
  return {
    joined,
    stop() {
      stopping ??= (async () => {
        await consumer.disconnect(); // waits for the batches in flight: each commits or aborts
        for (const owner of [...owners.values()]) discard(owner, 'stopping');
        await Promise.all([...closing]);
        await admin.disconnect();
        log.info('processor stopped');
      })();
      return stopping;
    },
  };
}
