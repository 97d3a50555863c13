/**
 * Shared by the processor tests: many real flights, reading a topic to its end under
 * read_committed, waiting for a group to commit everything, and running `millrace processor` or
 * `millrace sink` as a child process that can be killed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { headerText } from '../core/dlq.ts';
import { AvroProducer } from '../core/producer.ts';
import type { Registry } from '../core/schema-registry.ts';
import { LINEAGE_HEADER } from '../processors/runtime/index.ts';
import { eventually, flights, flightTopic, type Flight } from './helpers.ts';

export const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'millrace.js');

/** `millrace replay ...` as a process; resolves with its output once it exits 0. */
export const replay = (...args: string[]) =>
  promisify(execFile)(process.execPath, [cli, 'replay', ...args], { maxBuffer: 16 * 1024 * 1024 });

/** `count` real flights: the 10,000 of vega-datasets repeated, ids `flight-<round>-<i>` all distinct. */
export function manyFlights(count: number): Flight[] {
  const base = flights(10_000);
  return Array.from({ length: count }, (_, n) => {
    const f = base[n % base.length]!;
    return { ...f, id: `flight-${Math.floor(n / base.length)}-${n % base.length}` };
  });
}

export const sums = (records: readonly Flight[]) => ({
  distance: records.reduce((s, f) => s + f.distance, 0),
  delay: records.reduce((s, f) => s + f.delay, 0),
});

/** An input and an output topic, both with the flights schema. */
export async function topicPair(name: string, inputPartitions: number, outputPartitions = inputPartitions) {
  const [input, output] = await Promise.all([
    flightTopic(`${name}_in`, inputPartitions),
    flightTopic(`${name}_out`, outputPartitions),
  ]);
  return { input, output };
}

/**
 * Produces the records in chunks; with `paceMs`, waits that long between chunks so the stream
 * keeps flowing while processors come and go. Resolves when all are acknowledged.
 */
export async function produceFlights(
  kafka: Kafka,
  registry: Registry,
  topic: string,
  records: readonly Flight[],
  chunk = 2000,
  paceMs = 0,
): Promise<void> {
  const producer = new AvroProducer(kafka, registry);
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += chunk) {
      await producer.send(
        topic,
        records.slice(i, i + chunk).map((value) => ({ value })),
      );
      if (paceMs > 0) await new Promise((r) => setTimeout(r, paceMs));
    }
  } finally {
    await producer.disconnect();
  }
}

/** Per partition: committed offset of the group minus the end of the topic (0 everywhere = done). */
export async function progress(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<{ committed: number; end: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [ends, [committed]] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    let c = 0;
    let e = 0;
    for (const { partition, high } of ends) {
      e += Number(high);
      const offset = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
      c += offset === '-1' ? 0 : Number(offset);
    }
    return { committed: c, end: e };
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the group has committed every record the topic holds, and the topic holds `expected`. */
export async function waitForCommitted(
  kafka: Kafka,
  groupId: string,
  topic: string,
  expected: number,
  timeoutMs = 120_000,
): Promise<void> {
  await eventually(
    `group ${groupId} to commit ${expected} records of ${topic}`,
    async () => {
      const { committed, end } = await progress(kafka, groupId, topic);
      return end >= expected && committed === end ? true : undefined;
    },
    timeoutMs,
  );
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Every record of a topic (from the offsets given, else from the start) a read_committed consumer
 * sees, reading until its position reaches the end of every partition (aborted records and
 * transaction markers included in the position, so the count is exact, not "enough"). A
 * transaction left open blocks the end: this times out.
 */
export async function readCommitted(
  kafka: Kafka,
  topic: string,
  timeoutMs = 60_000,
  from?: ReadonlyMap<number, string>,
): Promise<ReadRecord[]> {
  const groupId = `test-read-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin
    .fetchTopicOffsets(topic)
    .then(async (ends) => {
      // a new group starts where it has committed offsets: there, when a start is given
      if (from)
        await admin.setOffsets({
          groupId,
          topic,
          partitions: [...from].map(([partition, offset]) => ({ partition, offset })),
        });
      return ends;
    })
    .finally(() => admin.disconnect());
  const position = new Map<number, bigint>(ends.map(({ partition }) => [partition, BigInt(from?.get(partition) ?? 0)]));
  const done = () => ends.every(({ partition, high }) => position.get(partition)! >= BigInt(high));

  const records: ReadRecord[] = [];
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const next = BigInt(payload.lastOffset) + 1n;
    if (next > (position.get(payload.partition) ?? 0n)) position.set(payload.partition, next);
  });
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages as KafkaMessage[]) {
        records.push({
          partition: batch.partition,
          offset: m.offset,
          key: m.key?.toString() ?? null,
          value: m.value,
          headers: headerText(m.headers),
        });
      }
    },
  });
  try {
    if (!done())
      await eventually(`the end of ${topic} under read_committed`, () => (done() ? true : undefined), timeoutMs);
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Decodes what `readCommitted` read as flights, keeping the lineage headers. */
export async function decodeFlights(registry: Registry, records: ReadRecord[]) {
  return Promise.all(
    records.map(async (r) => ({
      flight: (await registry.decode<Flight>(r.value)).value,
      key: r.key,
      source: {
        topic: r.headers[LINEAGE_HEADER.sourceTopic],
        partition: r.headers[LINEAGE_HEADER.sourcePartition],
        offset: r.headers[LINEAGE_HEADER.sourceOffset],
      },
    })),
  );
}

/** `millrace <command> ...` (a processor, a sink) as a child process, its pino lines parsed. */
export class MillraceProcess {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderrTail = '';
  private waiters: {
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [cli, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    let buffered = '';
    this.child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.stderrTail = (this.stderrTail + text).slice(-4000);
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const raw of lines) {
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          continue;
        }
        this.logs.push(line);
        this.waiters = this.waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
      }
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get tail(): string {
    return this.stderrTail;
  }

  /** The first log line (past or future) that matches, or a timeout naming what was awaited. */
  waitForLog(
    what: string,
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs = 60_000,
  ): Promise<Record<string, unknown>> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}; stderr: ${this.tail}`)),
        timeoutMs,
      );
      const exit = () => reject(new Error(`process exited while waiting for ${what}; stderr: ${this.tail}`));
      this.child.once('exit', exit);
      this.waiters.push({
        match,
        resolve: (line) => {
          clearTimeout(timer);
          this.child.off('exit', exit);
          resolve(line);
        },
      });
    });
  }

  /** The partitions of this member's latest assignment. */
  get assigned(): string[] {
    const last = [...this.logs].reverse().find((l) => l.msg === 'partitions assigned');
    return (last?.partitions as string[] | undefined) ?? [];
  }

  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    return this.exited;
  }
}
