/**
 * Redriving dead letters: sending them back to the partition of the topic they came from, after a
 * fix, each at most once. The records and an entry per dead letter in the redrive log
 * (`ops.deadletters.redriven`) are written in one Kafka transaction, so either both land or
 * neither does. Every redrive of a DLQ topic uses the same transactionalId: starting one fences any
 * other still open (its transaction aborts), and the log is read after that, so two redrives of
 * the same dead letter cannot both commit. A record that fails again goes to the DLQ again, with the
 * new reason, as a new dead letter.
 */
import type { IHeaders, Kafka, Message, Transaction } from 'kafkajs';
import {
  deadLetterBounds,
  deadLetterKey,
  viewDeadLetter,
  type DeadLetterFilter,
  type DeadLetterView,
  type Redrive,
} from './dlq-browse.ts';
import { DLQ_HEADER } from './dlq.ts';
import { errorKind } from './errors.ts';
import { producerDefaults } from './kafka.ts';
import { chunkMessages } from './message-chunks.ts';
import { PageQueryError, type Viewer } from './topic-pages.ts';
import type { Registry } from './schema-registry.ts';
import { readRange, topicOffsets, wholeTopic } from './topic-range.ts';
import { dlqTopicOf, valueSubjectOf } from '../schemas/topic-spec.ts';

export const REDRIVE_LOG = 'ops.deadletters.redriven';
/** On a redriven record: the dead letter it was (`<dlq topic>:<partition>:<offset>`). */
export const REDRIVE_OF_HEADER = 'millrace.redrive.of';
/** Dead letters one redrive sends at most; a larger range is redriven in several calls. */
export const REDRIVE_CAP = 10_000;

export class RedriveConflictError extends errorKind('RedriveConflictError', { code: 'conflict', status: 409 }) {}

interface LogEntry {
  id: string;
  tenant_id: string;
  event_time: number;
  dlq_topic: string;
  dlq_partition: number;
  dlq_offset: number;
  target_topic: string;
  target_partition: number;
  target_offset: number;
  redriven_by: string;
}

/** Every dead letter redriven so far, by `<dlq topic>:<partition>:<offset>`. */
export async function readRedrives(kafka: Kafka, registry: Registry): Promise<Map<string, Redrive>> {
  const bounds = await wholeTopic(kafka, REDRIVE_LOG);
  const redrives = new Map<string, Redrive>();
  await readRange(kafka, REDRIVE_LOG, bounds, async ({ message }) => {
    const entry = (await registry.decode<LogEntry>(message.value)).value;
    redrives.set(entry.id, {
      by: entry.redriven_by,
      at: new Date(entry.event_time).toISOString(),
      target: { topic: entry.target_topic, partition: entry.target_partition, offset: String(entry.target_offset) },
    });
    return true;
  });
  return redrives;
}

/** The dead letters to redrive: named ones (`p:o` in the DLQ topic), or all a filter matches. */
export type Selection = { ids: readonly string[] } | { filter: DeadLetterFilter };

export interface RedriveOptions {
  kafka: Kafka;
  registry: Registry;
  /** the source topic: its `<topic>.dlq` is read and its records go back to it */
  topic: string;
  viewer: Viewer;
  /** who asks, for the log: key:<id>, user:<id>, cli:<user>; and their tenant */
  actor: { subject: string; tenantId: string };
  selection: Selection;
}

export interface RedriveResult {
  redriven: { id: string; target: { topic: string; partition: number; offset: string } }[];
  /** named dead letters not sent: already redriven (with when and by whom), or not found */
  skipped: ({ id: string; reason: 'already_redriven'; redrive: Redrive } | { id: string; reason: 'not_found' })[];
  /** a filter matched more than REDRIVE_CAP: the rest waits for another call */
  more: boolean;
}

const inFlight = new Map<string, Promise<unknown>>();

/** Runs `work` after every earlier redrive of the same DLQ topic in this process (they would fence each other). */
async function oneAtATime<T>(dlq: string, work: () => Promise<T>): Promise<T> {
  const before = inFlight.get(dlq) ?? Promise.resolve();
  const run = before.catch(() => undefined).then(work);
  inFlight.set(dlq, run);
  try {
    return await run;
  } finally {
    if (inFlight.get(dlq) === run) inFlight.delete(dlq);
  }
}

function parseIds(ids: readonly string[]): Map<number, bigint[]> {
  const byPartition = new Map<number, bigint[]>();
  for (const id of ids) {
    if (!/^\d+:\d+$/.test(id)) throw new PageQueryError(`dead letter id "${id.slice(0, 60)}" is not partition:offset`);
    const [p, o] = id.split(':');
    const list = byPartition.get(Number(p)) ?? [];
    if (list.length === 0) byPartition.set(Number(p), list);
    list.push(BigInt(o!));
  }
  return byPartition;
}

/** The dead letters of the selection the viewer may see, with their records, in log order. */
async function selected(
  options: RedriveOptions,
  redrives: ReadonlyMap<string, Redrive>,
): Promise<{ found: { view: DeadLetterView; message: Message }[]; more: boolean }> {
  const { kafka, registry, topic, viewer, selection } = options;
  const dlq = dlqTopicOf(topic);
  const named = 'ids' in selection ? parseIds(selection.ids) : undefined;
  let bounds;
  let filter: DeadLetterFilter = {};
  if (named) {
    const ends = await topicOffsets(kafka, dlq);
    bounds = new Map(
      [...named].map(([p, offsets]) => {
        const until = ends.get(p) ?? 0n;
        const first = offsets.reduce((a, b) => (a < b ? a : b));
        const last = offsets.reduce((a, b) => (a > b ? a : b));
        return [p, { from: first < until ? first : until, until: last + 1n < until ? last + 1n : until }];
      }),
    );
  } else {
    filter = (selection as { filter: DeadLetterFilter }).filter;
    bounds = await deadLetterBounds(kafka, topic, filter);
  }
  const wanted = (p: number, o: bigint) => !named || named.get(p)!.includes(o);
  const found: { view: DeadLetterView; message: Message }[] = [];
  let more = false;
  await readRange(kafka, dlq, bounds, async (record) => {
    if (!wanted(record.partition, record.offset)) return true;
    const view = await viewDeadLetter(registry, record, filter, viewer, redrives, dlq);
    if (!view) return true;
    if (found.length === REDRIVE_CAP) {
      more = true;
      return false;
    }
    const { key, value, headers } = record.message;
    found.push({ view, message: { key, value, headers } });
    return true;
  });
  return { found, more };
}

/** The record's own headers, without the DLQ's (a new failure writes new ones), naming the dead letter it was. */
function redrivenHeaders(headers: IHeaders | undefined, deadLetter: string): IHeaders {
  const dlqHeaders = new Set<string>(Object.values(DLQ_HEADER));
  const own = Object.entries(headers ?? {}).filter(([name]) => !dlqHeaders.has(name));
  return { ...Object.fromEntries(own), [REDRIVE_OF_HEADER]: deadLetter };
}

/** Sends `messages` to one partition in broker-sized parts; the offset of each, in order. */
async function sendToPartition(
  txn: Transaction,
  topic: string,
  partition: number,
  messages: Message[],
): Promise<bigint[]> {
  const offsets: bigint[] = [];
  for (const chunk of chunkMessages(messages)) {
    const [meta] = await txn.send({ topic, acks: -1, messages: chunk.map((m) => ({ ...m, partition })) });
    const base = BigInt(meta!.baseOffset!);
    chunk.forEach((_, i) => offsets.push(base + BigInt(i)));
  }
  return offsets;
}

/**
 * Sends the selected dead letters back to where they came from, those not redriven before, and
 * logs each in the same transaction.
 *
 * @example
 * ```ts
 * const result = await redriveDeadLetters({ kafka, registry, topic: 'samples.flights.raw',
 *   viewer: { operator: true }, actor: { subject: 'cli:ops', tenantId: 'ops' }, selection: { ids: ['0:42'] } });
 * ```
 */
export function redriveDeadLetters(options: RedriveOptions): Promise<RedriveResult> {
  const dlq = dlqTopicOf(options.topic);
  return oneAtATime(dlq, async () => {
    const { kafka, registry, topic, actor } = options;
    const producer = kafka.producer({
      ...producerDefaults,
      transactionalId: `millrace.redrive.${dlq}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect(); // fences any redrive of this DLQ still open elsewhere
    try {
      const redrives = await readRedrives(kafka, registry); // after the fence: every earlier redrive is settled
      const { found, more } = await selected(options, redrives);
      const result: RedriveResult = { redriven: [], skipped: [], more };
      if ('ids' in options.selection) {
        const seen = new Set(found.map((f) => f.view.id));
        for (const id of new Set(options.selection.ids))
          if (!seen.has(id)) result.skipped.push({ id, reason: 'not_found' });
      }
      const fresh = found.filter(({ view }) => {
        if (!view.redrive) return true;
        result.skipped.push({ id: view.id, reason: 'already_redriven', redrive: view.redrive });
        return false;
      });
      if (fresh.length === 0) return result;

      const byPartition = new Map<number, typeof fresh>();
      for (const letter of fresh) {
        const list = byPartition.get(letter.view.source.partition) ?? [];
        if (list.length === 0) byPartition.set(letter.view.source.partition, list);
        list.push(letter);
      }
      const txn = await producer.transaction();
      try {
        const now = Date.now();
        const log: Message[] = [];
        for (const [partition, letters] of byPartition) {
          const offsets = await sendToPartition(
            txn,
            topic,
            partition,
            letters.map(({ view, message }) => ({
              ...message,
              headers: redrivenHeaders(message.headers, deadLetterKey(dlq, view.id)),
            })),
          );
          for (const [i, { view }] of letters.entries()) {
            const target = { topic, partition, offset: String(offsets[i]) };
            result.redriven.push({ id: view.id, target });
            const entry: LogEntry = {
              id: deadLetterKey(dlq, view.id),
              tenant_id: view.tenant_id ?? actor.tenantId,
              event_time: now,
              dlq_topic: dlq,
              dlq_partition: view.partition,
              dlq_offset: Number(view.offset),
              target_topic: topic,
              target_partition: partition,
              target_offset: Number(offsets[i]),
              redriven_by: actor.subject,
            };
            log.push({ key: entry.id, value: await registry.encode(valueSubjectOf(REDRIVE_LOG), entry) });
          }
        }
        for (const chunk of chunkMessages(log)) await txn.send({ topic: REDRIVE_LOG, acks: -1, messages: chunk });
        await txn.commit();
      } catch (error) {
        await txn.abort().catch(() => undefined);
        const name = (error as Error).name;
        if (name === 'KafkaJSProducerFencedError' || /fenced/i.test((error as Error).message))
          throw new RedriveConflictError(
            `another redrive of ${dlq} started meanwhile; nothing of this one was sent, retry`,
          );
        throw error;
      }
      return result;
    } finally {
      await producer.disconnect();
    }
  });
}
