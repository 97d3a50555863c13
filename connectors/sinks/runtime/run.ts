/**
 * The sink runtime: one topic into one table, exactly once, for any `SinkWriter`.
 *
 * Per fetched batch of a partition: records below the database's stored position are skipped
 * (they already landed), dead records go to the DLQ, then the rows are written with the position
 * (Postgres: in one transaction; ClickHouse: rows carry their offsets), and only then is the
 * offset committed to Kafka. While the database is unreachable the partition is paused and the
 * same batch retried with capped exponential back-off, heartbeating so the group keeps it: one
 * fetched batch per partition is all that is ever held in memory.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { AbortedError, backoff, sleep } from '../../../core/backoff.ts';
import { toDlqMessage } from '../../../core/dlq.ts';
import { createKafka, producerDefaults } from '../../../core/kafka.ts';
import { createLogger, type Logger } from '../../../core/logger.ts';
import { chunkMessages } from '../../../core/message-chunks.ts';
import { metrics } from '../../../core/metrics.ts';
import { Registry } from '../../../core/registry.ts';
import type { ReplayRange } from '../../../core/replay-range.ts';
import { dlqTopicOf } from '../../../core/topic-spec.ts';
import { prepareRows, type DeadRecord } from './prepare.ts';
import { SinkSpecError, checkSpec, type ResolvedSinkSpec, type SinkSpec } from './spec.ts';
import type { PreparedRow, SinkWriter, WriteOutcome } from './writer.ts';

export interface SinkOptions {
  kafka?: Kafka;
  registry?: Registry;
  log?: Logger;
  /** The consumer or the spec failed for good: the sink has stopped working. */
  onFatal?: (error: Error) => void;
  /**
   * Re-run a slice of the log instead of following it: start at `from` whatever the table holds,
   * stop writing at `until`, and call `onDone` once every partition got there. Give the spec a
   * name of its own (its consumer group); upserts and the ReplacingMergeTree absorb what was
   * already written.
   */
  replay?: ReplayRange & { onDone: () => void };
}

export interface RunningSink {
  /** Resolves when the group has assigned partitions to this member for the first time. */
  joined: Promise<void>;
  /** Ends any back-off, lets a batch being written finish (or roll back), leaves the group. */
  stop(): Promise<void>;
}

/** Bytes a fetch waits for before maxMs is up; about `maxRows` small Avro records. */
const BYTES_PER_ROW_ESTIMATE = 100;
const HEARTBEAT_EVERY_MS = 1_000;

export async function runSink<T>(input: SinkSpec<T>, writer: SinkWriter, options: SinkOptions = {}): Promise<RunningSink> {
  const spec: ResolvedSinkSpec<T> = checkSpec(input);
  const kafka = options.kafka ?? createKafka(`millrace-sink-${spec.name}`);
  const registry = options.registry ?? new Registry();
  const log = options.log ?? createLogger('sink', { sink: spec.name });
  const labels = { role: 'sink', name: spec.name };

  await writer.check();
  const consumer: Consumer = kafka.consumer({
    groupId: spec.groupId,
    readUncommitted: false,
    sessionTimeout: spec.consumer.sessionTimeoutMs,
    heartbeatInterval: spec.consumer.heartbeatIntervalMs,
    maxWaitTimeInMs: spec.batch.maxMs,
    minBytes: Math.min(1024 * 1024, spec.batch.maxRows * BYTES_PER_ROW_ESTIMATE),
  });
  const dlq: Producer = kafka.producer({ ...producerDefaults, idempotent: true });
  await Promise.all([consumer.connect(), dlq.connect()]);
  const admin = kafka.admin();
  await admin.connect();
  const { clusterId } = await admin.describeCluster().finally(() => admin.disconnect());

  const stopping = new AbortController();
  /** Per assigned partition: the next offset to write, once read from the database. */
  const positions = new Map<number, { next: bigint; sought: boolean }>();

  let markJoined: () => void = () => {};
  const joined = new Promise<void>((resolve) => (markJoined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // another member may have written any partition meanwhile: read every position again
    positions.clear();
    log.info({ partitions: payload.memberAssignment[spec.topic] ?? [] }, 'partitions assigned');
    markJoined();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    positions.clear();
    log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    if (!payload.restart) options.onFatal?.(payload.error);
  });

  const toDlq = async (dead: readonly DeadRecord[]): Promise<void> => {
    if (dead.length === 0) return;
    for (const { source, error } of dead) {
      log.warn({ partition: source.partition, offset: source.message.offset, errorClass: error.name, reason: error.message }, 'record to DLQ');
    }
    for (const messages of chunkMessages(dead.map(({ source, error }) => toDlqMessage(source, error, spec.stage)))) {
      await dlq.send({ topic: dlqTopicOf(spec.topic), acks: -1, messages });
    }
    metrics.dlq.inc(labels, dead.length);
  };

  /**
   * Runs `attempt` until it succeeds: while it fails the partition is paused and the member keeps
   * heartbeating. Resolves undefined when the batch must be dropped (stopping, or the partition moved).
   */
  const untilDone = async <R>(payload: EachBatchPayload, what: string, attempt: (retry: boolean) => Promise<R>): Promise<R | undefined> => {
    const { topic, partition } = payload.batch;
    for (let n = 0; ; n++) {
      try {
        const result = await attempt(n > 0);
        if (n > 0) {
          consumer.resume([{ topic, partitions: [partition] }]);
          log.info({ partition, attempts: n + 1 }, `${what} succeeded, partition resumed`);
        }
        return result;
      } catch (error) {
        if (error instanceof SinkSpecError) throw error;
        const delayMs = backoff({ attempt: n + 1, baseMs: spec.retry.initialMs, capMs: spec.retry.maxMs, jitter: 'equal' });
        if (n === 0) consumer.pause([{ topic, partitions: [partition] }]);
        log.warn({ partition, attempt: n + 1, delayMs, err: error }, `${what} failed, partition paused, retrying`);
        metrics.retries.inc(labels);
        try {
          for (let waited = 0; waited < delayMs; waited += HEARTBEAT_EVERY_MS) {
            await sleep(Math.min(HEARTBEAT_EVERY_MS, delayMs - waited), stopping.signal);
            await payload.heartbeat(); // throws when the group rebalances: the batch is dropped, uncommitted
          }
        } catch (interrupted) {
          consumer.resume([{ topic, partitions: [partition] }]);
          if (interrupted instanceof AbortedError) return undefined;
          throw interrupted;
        }
        if (!payload.isRunning() || payload.isStale()) return undefined;
      }
    }
  };

  const replay = options.replay;
  const replayDone = (): boolean => !!replay && [...replay.until].every(([p, until]) => (positions.get(p)?.next ?? replay.from.get(p)!) >= until);
  let announcedDone = false;
  const checkReplayDone = () => {
    if (replay && !announcedDone && replayDone()) {
      announcedDone = true;
      log.info({ topic: replay.topic }, 'replay reached the end of its range');
      replay.onDone();
    }
  };

  /** The database's position for a partition, combined with where Kafka's fetch stands. */
  const startingPoint = async (payload: EachBatchPayload, first: KafkaMessage) => {
    const { topic, partition } = payload.batch;
    const fetched = BigInt(first.offset);
    if (replay) {
      const from = replay.from.get(partition) ?? replay.until.get(partition) ?? fetched;
      if (from < fetched) consumer.seek({ topic, partition, offset: String(from) });
      return { next: from, sought: from < fetched };
    }
    const stored = await untilDone(payload, 'reading the stored position', () => writer.positions(topic, [partition], clusterId));
    if (stored === undefined) return undefined;
    const position = stored.get(partition);
    if (position === undefined) return { next: fetched, sought: false };
    if (writer.authoritative && position < fetched) {
      // the database is behind Kafka's committed offset (restored from a backup, say): rewind once
      log.warn({ partition, stored: String(position), fetched: first.offset }, 'seeking back to the stored position');
      consumer.seek({ topic, partition, offset: String(position) });
      return { next: position, sought: true };
    }
    return { next: position > fetched ? position : fetched, sought: false };
  };

  consumer.on(consumer.events.GROUP_JOIN, () => checkReplayDone());
  await consumer.subscribe({ topic: spec.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      const { batch, resolveOffset } = payload;
      const { topic, partition } = batch;
      if (batch.messages.length === 0) return;
      let state = positions.get(partition);
      if (!state) {
        const found = await startingPoint(payload, batch.messages[0]!);
        if (!found) return;
        positions.set(partition, found);
        if (found.sought) return; // the next fetch starts at the stored position
        state = found;
      }
      const until = replay ? (replay.until.get(partition) ?? 0n) : undefined;
      const pending = batch.messages.filter((m) => BigInt(m.offset) >= state.next && (until === undefined || BigInt(m.offset) < until));
      const skipped = batch.messages.length - pending.length;
      if (skipped > 0) log.info({ partition, skipped, next: String(state.next) }, 'skipping records already in the table');
      if (pending.length === 0 && BigInt(batch.lastOffset()) < state.next) {
        // everything fetched is already in the table: fetch from the stored position next
        consumer.seek({ topic, partition, offset: String(state.next) });
        return;
      }

      for (let i = 0; i < pending.length || (i === 0 && skipped > 0); i += spec.batch.maxRows) {
        const started = performance.now();
        const slice = pending.slice(i, i + spec.batch.maxRows);
        const last = i + spec.batch.maxRows >= pending.length;
        // the final slice ends past the batch's last offset: transaction markers after it are done too
        let next = last ? BigInt(batch.lastOffset()) + 1n : BigInt(slice.at(-1)!.offset) + 1n;
        if (until !== undefined && next > until) next = until;
        if (next <= state.next) break;
        const start = state.next;
        const outcome = await untilDone(payload, 'write', async (retry): Promise<WriteOutcome> => {
          const { rows, dead } = await prepareRows(spec, registry, topic, partition, slice);
          await toDlq(dead);
          const refusedRow = (row: PreparedRow, error: Error) => toDlq([{ source: row.source, error }]);
          // a replay rewrites on purpose: reading the table's position back would skip it all
          return writer.write({ clusterId, topic, partition, start, next, rows, verify: retry && !replay }, refusedRow);
        });
        if (!outcome) return;
        state.next = outcome.durable;
        // durable in the database: now Kafka may know (a crash before this only repeats skipped work)
        // the batch's own commit: consumer.commitOffsets is silently skipped once a stop has begun
        const committed = await untilDone(payload, 'offset commit', () =>
          payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(outcome.durable) }] }] }).then(() => true),
        );
        if (!committed) return;
        resolveOffset((outcome.durable - 1n).toString());
        metrics.recordsIn.inc(labels, slice.length);
        metrics.recordsOut.inc(labels, outcome.written);
        metrics.batchSize.observe(labels, slice.length);
        metrics.batchSeconds.observe(labels, (performance.now() - started) / 1000);
        metrics.lag.set({ ...labels, topic, partition: String(partition) }, Number(BigInt(batch.highWatermark) - outcome.durable));
        log.debug({ partition, next: String(outcome.durable), written: outcome.written, refused: outcome.refused }, 'batch durable');
        await payload.heartbeat();
      }
      checkReplayDone();
    },
  });

  let stopped: Promise<void> | undefined;
  return {
    joined,
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await consumer.disconnect();
        await dlq.disconnect();
        await writer.close();
        log.info('sink stopped');
      })();
      return stopped;
    },
  };
}
