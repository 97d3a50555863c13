/**
 * The failover measure's own records: after a cluster fault, one flight every 250 ms to partition 0
 * of samples.flights.raw (the partition whose leader `kill leader broker` kills) until one is
 * acknowledged by the in-sync replicas, then its row looked for in ClickHouse. The driver's commits
 * cannot serve: it is held at its gate whenever it has run a segment ahead of the faults, so its
 * first commit after a fault was at times the fault's end (the "kill controller" times of the 1M
 * runs: 3 s after the node was back, in every one). A probe flight has an id no stream's prefix
 * matches, so the verdict does not count it.
 */
import kafkajs, { type Producer } from 'kafkajs';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { catalogueKey } from '../../core/catalogue.ts';
import { loadConfig } from '../../core/config.ts';
import type { Registry } from '../../core/schema-registry.ts';
import { valueSubjectOf } from '../../schemas/topic-spec.ts';
import { parquetFlights } from '../flights-parquet.ts';
import { STREAM_TOPICS } from './streams.ts';

const { Kafka, logLevel } = kafkajs;
const TOPIC = STREAM_TOPICS.flights;
const EVERY_MS = 250;
/** Probes waiting at once (on a frozen broker each waits out its request timeout); more would only queue on one socket. */
const MAX_IN_FLIGHT = 4;

/** How long a failover is measured: a probe or a row not there by then is "not within 60 s". */
export const FAILOVER_WITHIN_MS = 60_000;

/** How long it took the platform to go on after a fault (undefined: not within the wait). */
export interface Failover {
  /** fault to the first probe record acknowledged (acks=all) */
  produceMs?: number;
  /** fault to that record's row in ClickHouse (on any replica) */
  clickhouseMs?: number;
}

export class FailoverProbe {
  private sent = 0;

  private constructor(
    private readonly producer: Producer,
    private readonly registry: Registry,
    private readonly template: { id: string },
    private readonly run: string,
    private readonly replicas: readonly ClickHouseClient[],
  ) {}

  static async start(
    registry: Registry,
    run: string,
    tenant: string,
    replicas: readonly ClickHouseClient[],
  ): Promise<FailoverProbe> {
    const [template] = (await parquetFlights(1, { tenant }).next()).value ?? [];
    // a client of its own, silent: every refused send during an outage would be an error line
    const kafka = new Kafka({
      clientId: `chaos-probe-${run}`,
      brokers: [...loadConfig().KAFKA_BROKERS],
      logLevel: logLevel.NOTHING,
    });
    // no retries inside kafkajs (a refused send refreshes the metadata and fails): the probe's own pace is the retry
    const producer = kafka.producer({ idempotent: false, retry: { retries: 0 } });
    await producer.connect();
    return new FailoverProbe(producer, registry, template!, run, replicas);
  }

  /** From `at` (the fault), for at most `withinMs`: probes sent until one is acknowledged, then its row awaited. */
  async measure(at: number, withinMs = FAILOVER_WITHIN_MS): Promise<Failover> {
    const failover: Failover = {};
    const until = at + withinMs;
    const acked = new Promise<string | undefined>((resolve) => {
      // a probe every EVERY_MS without waiting for the last: one may hang on a frozen broker until its request times out
      let inFlight = 0;
      const probe = () => {
        if (Date.now() > until) {
          clearInterval(timer);
          resolve(undefined);
          return;
        }
        if (inFlight >= MAX_IN_FLIGHT) return;
        inFlight += 1;
        this.send()
          .then(
            (id) => {
              clearInterval(timer);
              failover.produceMs ??= Date.now() - at;
              resolve(id);
            },
            () => undefined,
          )
          .finally(() => (inFlight -= 1));
      };
      const timer = setInterval(probe, EVERY_MS);
      probe();
    });
    const id = await acked;
    while (id !== undefined && Date.now() < until) {
      if (await this.stored(id)) {
        failover.clickhouseMs = Date.now() - at;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return failover;
  }

  stop(): Promise<void> {
    return this.producer.disconnect();
  }

  private async send(): Promise<string> {
    const value = { ...this.template, id: `chaos-${this.run}-probe-${++this.sent}` };
    const encoded = await this.registry.encode(valueSubjectOf(TOPIC), value);
    await this.producer.send({
      topic: TOPIC,
      acks: -1,
      messages: [{ key: catalogueKey(TOPIC, value), value: encoded, partition: 0 }],
    });
    return value.id;
  }

  private async stored(id: string): Promise<boolean> {
    for (const replica of this.replicas) {
      try {
        const rows = await (
          await replica.query({
            query: `SELECT count() AS n FROM samples_flights WHERE id = ${quoteString(id)}`,
            format: 'JSONEachRow',
          })
        ).json<{ n: string }>();
        if (Number(rows[0]?.n) > 0) return true;
      } catch {
        // a replica that is down answers nothing; the other may
      }
    }
    return false;
  }
}
