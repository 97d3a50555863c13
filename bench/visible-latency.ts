/**
 * Latency from produce to visible in ClickHouse at a fixed offered load, for bench/flights.ts and
 * bench/clickhouse-sink.ts: records are sent in ticks of 50 ms, each stamped with its send time,
 * and a record is visible when a poll of the table sees its row. Through a processor, a
 * read_committed consumer of its output topic also stamps when each record is committed there
 * (`scored`), so a slow stage shows which one it is. Warm-up records go through first, unmeasured:
 * every partition's first transaction (a producer's InitProducerId, the model's first run) and the
 * sinks' first inserts are start-up costs, not the steady latency measured.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka, Producer } from 'kafkajs';
import type { Registry } from '../core/schema-registry.ts';
import { valueSubjectOf } from '../schemas/topic-spec.ts';
import type { SampleFlight } from '../schemas/records/samples.ts';
import { eventually } from '../testkit/helpers.ts';
import { percentile } from './percentile.ts';

export interface Quantiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface VisibleLatency extends Quantiles {
  /** produce -> committed on the processor's output topic, when there is one */
  scored?: Quantiles;
  /** records seen in ClickHouse, of `sent` */
  records: number;
  sent: number;
  pollMs: number;
}

export interface LatencyRun {
  kafka: Kafka;
  producer: Producer;
  registry: Registry;
  clickhouse: ClickHouseClient;
  /** the topic records are produced to */
  input: string;
  /** the processor's output topic, to stamp when records are committed there */
  scoredTopic?: string;
  table: string;
  /** a record like the ones measured; each gets its own id (and this tenant, when given) */
  base: SampleFlight;
  tenant?: string;
  perSecond: number;
  seconds: number;
  pollMs: number;
  /** stop waiting for stragglers this long after the last send */
  graceMs?: number;
}

function quantiles(values: number[]): Quantiles {
  values.sort((a, b) => a - b);
  const q = (p: number) => Math.round(percentile(values, p));
  return { p50: q(50), p95: q(95), p99: q(99), max: Math.round(values.at(-1) ?? NaN) };
}

export async function visibleLatency(run: LatencyRun): Promise<VisibleLatency> {
  const { kafka, producer, registry, clickhouse, table, perSecond, pollMs } = run;
  const subject = valueSubjectOf(run.input);
  const label = randomBytes(3).toString('hex');
  const prefix = `lat-${label}-`;
  const record = (id: string): SampleFlight => ({
    ...run.base,
    id,
    event_time: Date.now(),
    ...(run.tenant ? { tenant_id: run.tenant } : {}),
  });
  /** Encodes, then calls `sending` (the clock starts there), then sends. */
  const send = async (records: SampleFlight[], sending = () => {}) => {
    const messages = await Promise.all(
      records.map(async (f) => ({ key: f.id, value: await registry.encode(subject, f) })),
    );
    sending();
    await producer.send({ topic: run.input, acks: -1, messages });
  };
  const count = async (where: string) => {
    const result = await clickhouse.query({
      query: `SELECT count() AS n, uniqExact(id) AS ids FROM ${table} WHERE ${where}`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: string; ids: string }>();
    return { rows: Number(row!.n), ids: Number(row!.ids) };
  };

  const scoredAt = new Map<string, number>();
  const watcher = run.scoredTopic ? kafka.consumer({ groupId: `bench-latency-watch-${label}` }) : undefined;
  if (watcher) {
    await watcher.connect();
    // from the end (the topic may hold a throughput run's records), so it must have joined before the clock starts
    const joined = new Promise((resolve) => watcher.on(watcher.events.GROUP_JOIN, resolve));
    await watcher.subscribe({ topic: run.scoredTopic!, fromBeginning: false });
    await watcher.run({
      eachBatch: async ({ batch }) => {
        const now = performance.now();
        for (const m of batch.messages) if (m.key) scoredAt.set(m.key.toString(), now);
      },
    });
    await joined;
  }

  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  try {
    const warm = Array.from({ length: 60 }, (_, i) => record(`warm-${label}-${i}`)); // 60 keys reach every partition
    await send(warm);
    await eventually(
      'the warm-up records in ClickHouse',
      async () => (await count(`id LIKE 'warm-${label}-%'`)).rows >= warm.length || undefined,
      120_000,
    );

    const seen = new Map<number, bigint>();
    let sending = true;
    let stoppedAt = Infinity;
    const tenant = run.tenant ? `tenant_id = '${run.tenant}' AND ` : '';
    const poller = (async () => {
      const pastGrace = () => !sending && performance.now() > stoppedAt + (run.graceMs ?? 30_000);
      while ((sending || latencies.length < sentAt.size) && !pastGrace()) {
        // only rows past those already seen: a poll that rescans the table takes longer than what it measures
        const after = [...seen].map(([p, o]) => `(_partition = ${p} AND _offset > ${o})`).join(' OR ');
        const newer = after ? ` AND (${after} OR _partition NOT IN (${[...seen.keys()].join(',')}))` : '';
        const result = await clickhouse.query({
          query: `SELECT id, _partition, _offset FROM ${table} WHERE ${tenant}id LIKE '${prefix}%'${newer}`,
          format: 'JSONEachRow',
        });
        const now = performance.now();
        for (const row of await result.json<{ id: string; _partition: number; _offset: string }>()) {
          const at = sentAt.get(row.id);
          if (at !== undefined) latencies.push(now - at);
          if (BigInt(row._offset) > (seen.get(row._partition) ?? -1n)) seen.set(row._partition, BigInt(row._offset));
        }
        await new Promise((r) => setTimeout(r, pollMs));
      }
    })();

    const tick = 50; // ms: sends of perSecond / 20 records
    const started = performance.now();
    for (let t = 0; t < (run.seconds * 1000) / tick; t++) {
      const batch = Array.from({ length: (perSecond * tick) / 1000 }, (_, i) => record(`${prefix}${t}-${i}`));
      await send(batch, () => {
        const at = performance.now();
        for (const f of batch) sentAt.set(f.id, at);
      });
      const next = started + (t + 1) * tick;
      if (next > performance.now()) await new Promise((r) => setTimeout(r, next - performance.now()));
    }
    stoppedAt = performance.now();
    sending = false;
    await poller;
  } finally {
    await watcher?.disconnect();
  }

  const stored = await count(`id LIKE '${prefix}%'`);
  // a row past the grace is reported as not seen (records < sent); a record stored twice is a failure
  if (stored.rows !== stored.ids)
    throw new Error(`latency: ${stored.rows} rows of ${stored.ids} ids in ClickHouse for ${sentAt.size} records sent`);
  const scored = [...scoredAt].flatMap(([id, at]) => {
    const sent = sentAt.get(id);
    return sent === undefined ? [] : [at - sent];
  });
  return {
    ...quantiles(latencies),
    ...(watcher ? { scored: quantiles(scored) } : {}),
    records: latencies.length,
    sent: sentAt.size,
    pollMs,
  };
}
