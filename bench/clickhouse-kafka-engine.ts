/**
 * The ClickHouse peer of the ClickHouse sink (bench/flights.ts): ClickHouse's own Kafka table engine
 * (ENGINE = Kafka) with a materialized view into a ReplacingMergeTree shaped like samples_flights (without
 * the sink's lineage columns). It reads JSONEachRow, not Avro with registry ids, so the caller feeds
 * it a JSON copy of the flights on a topic of its own (produced before the clock starts). Nothing is
 * set on the shared server: the engine's table settings only; it flushes a block every
 * max_block_size rows or stream_flush_interval_ms (the server's defaults, 65536 and 7.5 s on 18.16).
 * Its librdkafka starts a group without offsets at the end of the log (auto.offset.reset is server
 * config), so the group's offsets are set to 0 before the engine joins it.
 */
import { performance } from 'node:perf_hooks';
import type { Kafka, Message } from 'kafkajs';
import { createClickHouse } from '../core/clickhouse.ts';
import { loadConfig } from '../core/config.ts';
import { producerDefaults } from '../core/kafka.ts';
import type { SampleFlight } from '../schemas/records/samples.ts';
import { eventually } from '../testkit/helpers.ts';

const SEND = 5_000;

/** A 6-partition topic holding `flights` as JSON lines (JSONEachRow), keyed by id like the Avro topic. */
export async function jsonCopy(
  kafka: Kafka,
  topic: string,
  flights: AsyncIterable<SampleFlight[]>,
  line: (f: SampleFlight) => unknown,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ ...producerDefaults, idempotent: true });
  await producer.connect();
  for await (const chunk of flights) {
    const messages: Message[] = chunk.map((f) => ({ key: f.id, value: JSON.stringify(line(f)) }));
    for (let i = 0; i < messages.length; i += SEND)
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + SEND) });
  }
  await producer.disconnect();
}

/** ClickHouse's JSONEachRow DateTime: 'YYYY-MM-DD hh:mm:ss' (UTC). */
export const clickhouseRow = (f: SampleFlight) => ({
  ...f,
  event_time: new Date(f.event_time).toISOString().slice(0, 19).replace('T', ' '),
});

export interface EngineRun {
  /** from the engine table's creation until the target holds `count` distinct rows */
  seconds: number;
  firstRowSeconds: number;
  /** rows in the table when it was first seen non-empty */
  firstRows: number;
  /** rows stored, duplicates included (the engine is at-least-once), and sum(delay) over distinct rows */
  stored: number;
  delay: number;
  settings: string;
}

/** Creates target, view and engine table on `topic`, waits for `count` rows, then drops all three. */
export async function clickhouseKafkaEngine(
  kafka: Kafka,
  topic: string,
  count: number,
  run: string,
): Promise<EngineRun> {
  const ch = createClickHouse();
  const config = loadConfig();
  const target = `bench_peers_engine_${run}`;
  const queue = `${target}_queue`;
  const view = `${target}_mv`;
  const columns =
    'id String, tenant_id String, event_time DateTime, origin String, destination String, distance UInt32, delay Int16';
  const settings = `kafka_format = 'JSONEachRow', kafka_num_consumers = 1`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const partitions = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions;
    await admin.setOffsets({
      groupId: target,
      topic,
      partitions: partitions.map((p) => ({ partition: p.partitionId, offset: '0' })),
    });
    await ch.command({
      query: `CREATE TABLE ${target} (${columns}) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(event_time) ORDER BY (tenant_id, event_time, id)`,
    });
    await ch.command({
      query: `CREATE TABLE ${queue} (${columns}) ENGINE = Kafka SETTINGS kafka_broker_list = '${config.KAFKA_BROKERS.join(',')}', kafka_topic_list = '${topic}', kafka_group_name = '${target}', ${settings}`,
    });
    const started = performance.now();
    // the view starts the engine's consumer; rows land in the target block by block
    await ch.command({ query: `CREATE MATERIALIZED VIEW ${view} TO ${target} AS SELECT * FROM ${queue}` });
    const one = async (query: string) =>
      (await (await ch.query({ query, format: 'JSONEachRow' })).json<Record<string, string>>())[0]!;
    let firstRowSeconds = 0;
    let firstRows = 0;
    await eventually(
      'the Kafka engine to fill its table',
      async () => {
        const n = Number((await one(`SELECT count() AS n FROM ${target}`)).n);
        if (n > 0 && firstRowSeconds === 0) [firstRowSeconds, firstRows] = [(performance.now() - started) / 1000, n];
        if (n < count) return undefined;
        return Number((await one(`SELECT count() AS n FROM ${target} FINAL`)).n) >= count ? true : undefined;
      },
      1_800_000,
    );
    const seconds = (performance.now() - started) / 1000;
    const stored = Number((await one(`SELECT count() AS n FROM ${target}`)).n);
    const delay = Number((await one(`SELECT sum(delay) AS d FROM ${target} FINAL`)).d);
    return { seconds, firstRowSeconds, firstRows, stored, delay, settings };
  } finally {
    for (const table of [view, queue, target])
      await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
    await admin.deleteGroups([target]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await Promise.all([ch.close(), admin.disconnect()]);
  }
}
