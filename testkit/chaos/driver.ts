/**
 * Sends the known stream at a fixed offered load, the way a careful source does: each batch in one
 * Kafka transaction, so a batch that failed (a broker or registry outage) and is sent again is never
 * seen twice by read_committed consumers. A failed batch is retried with a new producer (same
 * transactional id, so the old one is fenced) until it commits; the batches that follow catch up.
 */
import type { Kafka, Producer } from 'kafkajs';
import { producerDefaults } from '../../core/kafka.ts';
import { AvroProducer } from '../../core/producer.ts';
import type { Registry } from '../../core/schema-registry.ts';
import type { StreamSource } from './streams.ts';

const TICK_MS = 100;

/** Header on every record the driver sends: `<batch>/<try>`, the batch's index and the try that sent it. */
export const DRIVER_TRY_HEADER = 'millrace.chaos.try';
const MAX_BATCH = 5_000;

export interface DriveReport {
  sent: number;
  transactions: number;
  /** batches that failed and were sent again */
  retried: number;
  seconds: number;
}

export interface DriveHooks {
  /** awaited before each batch with the records sent so far: the harness holds the stream until a fault is under way */
  gate?(sent: number): Promise<void>;
  /** after each committed batch */
  progress?(sent: number): void;
}

export async function drive(
  kafka: Kafka,
  registry: Registry,
  source: StreamSource,
  perSecond: number,
  log: (line: string) => void,
  hooks: DriveHooks = {},
): Promise<DriveReport> {
  const encoder = new AvroProducer(kafka, registry);
  const transactionalId = `chaos-driver-${source.run}`;
  const connect = async (): Promise<Producer> => {
    const producer = kafka.producer({ ...producerDefaults, transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    return producer;
  };
  let producer = await connect();
  await source.prime();
  const report: DriveReport = { sent: 0, transactions: 0, retried: 0, seconds: 0 };
  const started = Date.now();
  let heldMs = 0; // time held at the gate does not count as owed load
  while (source.remaining > 0) {
    const holding = Date.now();
    await hooks.gate?.(report.sent);
    heldMs += Date.now() - holding;
    // as many records as the offered load owes by now, so the stream catches up after an outage
    const owed = Math.round(((Date.now() - started - heldMs) / 1000) * perSecond) - report.sent;
    if (owed <= 0) {
      await new Promise((r) => setTimeout(r, TICK_MS));
      continue;
    }
    const records = await source.next(Math.min(owed, MAX_BATCH));
    const batch = await retrying(
      () =>
        Promise.all(
          records.map(async ({ topic, values }) => ({
            topic,
            messages: await Promise.all(values.map((value) => encoder.prepare(topic, { value }))),
          })),
        ),
      log,
      'encode',
    );
    for (let attempt = 0; ; attempt++) {
      try {
        const txn = await producer.transaction();
        try {
          // which batch and which try a record came from: a record found twice says whether a retry or one send doubled it
          const headers = { [DRIVER_TRY_HEADER]: `${report.transactions}/${attempt}` };
          for (const { topic, messages } of batch)
            await txn.send({ topic, messages: messages.map((m) => ({ ...m, headers })), acks: -1 });
          await txn.commit();
          break;
        } catch (error) {
          await txn.abort().catch(() => undefined);
          throw error;
        }
      } catch (error) {
        report.retried += attempt === 0 ? 1 : 0;
        log(
          `driver: batch of ${batch.reduce((n, b) => n + b.messages.length, 0)} not committed (${(error as Error).message}); retrying`,
        );
        await producer.disconnect().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 1_000));
        producer = await retrying(connect, log, 'connect');
      }
    }
    report.transactions += 1;
    report.sent += batch.reduce((n, b) => n + b.messages.length, 0);
    hooks.progress?.(report.sent);
  }
  await producer.disconnect();
  report.seconds = (Date.now() - started) / 1000;
  return report;
}

/** `work` again every second until it succeeds (the registry or the broker may be down). */
async function retrying<T>(work: () => Promise<T>, log: (line: string) => void, what: string): Promise<T> {
  for (;;) {
    try {
      return await work();
    } catch (error) {
      log(`driver: ${what} failed (${(error as Error).message}); retrying`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}
