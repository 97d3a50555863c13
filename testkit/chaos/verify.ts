/**
 * The harness's verdict: for every id it sent, how many times it is in each topic of the pipeline
 * (the input, the committed output, the dead letters) and in each sink table. Topics are read
 * under read_committed from the offsets they had before the run; ClickHouse rows are counted as
 * stored (no FINAL: a re-inserted batch would show), Postgres rows by primary key.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin, Kafka } from 'kafkajs';
import type pg from 'pg';
import { quoteString } from '../../core/clickhouse-sql.ts';
import type { Registry } from '../../core/schema-registry.ts';
import { dlqTopicOf } from '../../schemas/topic-spec.ts';
import { readCommitted } from '../processor-helpers.ts';
import { DRIVER_TRY_HEADER } from './driver.ts';
import { STREAM_TOPICS, type StreamName } from './streams.ts';

export type Target = { stream: StreamName; name: string } & (
  { kind: 'topic'; topic: string } | { kind: 'clickhouse' | 'postgres'; table: string }
);

/** Where each stream's ids must end up exactly once; its DLQ must hold none of them. */
export const TARGETS: readonly Target[] = [
  ...(Object.entries(STREAM_TOPICS) as [StreamName, string][]).map(([stream, topic]) => ({
    stream,
    name: `topic ${topic}`,
    kind: 'topic' as const,
    topic,
  })),
  { stream: 'flights', name: 'ClickHouse samples_flights', kind: 'clickhouse', table: 'samples_flights' },
  { stream: 'flights', name: 'Postgres samples_flights', kind: 'postgres', table: 'samples_flights' },
  { stream: 'statements', name: 'topic finance.statements.scored', kind: 'topic', topic: 'finance.statements.scored' },
  { stream: 'statements', name: 'ClickHouse finance_scores', kind: 'clickhouse', table: 'finance_scores' },
  { stream: 'statements', name: 'Postgres finance_scores', kind: 'postgres', table: 'finance_scores' },
  { stream: 'catalog', name: 'topic catalog.rows.classified', kind: 'topic', topic: 'catalog.rows.classified' },
  { stream: 'catalog', name: 'ClickHouse catalog_rows', kind: 'clickhouse', table: 'catalog_rows' },
];

export const DLQ_TOPICS = Object.values(STREAM_TOPICS)
  .map(dlqTopicOf)
  .concat(dlqTopicOf('finance.statements.scored'), dlqTopicOf('catalog.rows.classified'));

export interface Tally {
  target: string;
  expected: number;
  /** distinct ids found */
  present: number;
  /** records or rows with those ids */
  rows: number;
  lost: number;
  duplicated: number;
  /** for a topic, the first ids found more than once and where each copy is */
  repeats?: string[];
}

export interface Clients {
  kafka: Kafka;
  registry: Registry;
  clickhouse: ClickHouseClient;
  db: pg.Pool;
}

/** Each topic's end offsets now: where the harness's reading starts after the run. */
export async function markTopics(kafka: Kafka, topics: readonly string[]): Promise<Map<string, Map<number, string>>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const marks = await Promise.all(topics.map(async (t) => [t, await endOffsets(admin, t)] as const));
    return new Map(marks);
  } finally {
    await admin.disconnect();
  }
}

/**
 * A topic's end offsets, asked again (up to five times, a second apart) when kafkajs fails on an
 * answer lacking the topic: on the cluster, right after a node restarted, ListOffsets can come back
 * empty and kafkajs then throws a TypeError of its own.
 */
async function endOffsets(admin: Admin, topic: string): Promise<Map<number, string>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
    } catch (error) {
      if (attempt === 5) throw error;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

/** Where each id of the run's prefix is among the records written to `topic` since its mark: `partition/offset` per record, with the driver's try when it is there. */
export async function topicIds(
  clients: Clients,
  topic: string,
  from: ReadonlyMap<number, string>,
  prefix: string,
): Promise<Map<string, string[]>> {
  const positions = new Map<string, string[]>();
  for (const record of await readCommitted(clients.kafka, topic, 300_000, from)) {
    // DLQ records carry the original bytes: valid Avro here, as the harness sends only valid records
    const { id } = (await clients.registry.decode<{ id: string }>(record.value)).value;
    if (!id.startsWith(prefix)) continue;
    const sentBy = record.headers[DRIVER_TRY_HEADER];
    const at = `${record.partition}/${record.offset}${sentBy ? ` (try ${sentBy})` : ''}`;
    positions.set(id, [...(positions.get(id) ?? []), at]);
  }
  return positions;
}

/** The ids found more than once, with where each copy is: what a failing verdict prints. */
export function repeatedIds(positions: ReadonlyMap<string, string[]>, limit = 20): string[] {
  return [...positions]
    .filter(([, at]) => at.length > 1)
    .slice(0, limit)
    .map(([id, at]) => `${id} at ${at.join(', ')}`);
}

/** Distinct ids and rows of the prefix in a sink table. */
export async function tableIds(
  clients: Clients,
  target: Target & { kind: 'clickhouse' | 'postgres' },
  prefix: string,
): Promise<{ present: number; rows: number }> {
  if (target.kind === 'postgres') {
    // the primary key is the id: present and rows are one figure
    const { rows } = await clients.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${target.table} WHERE starts_with(id, $1)`,
      [prefix],
    );
    return { present: Number(rows[0]!.n), rows: Number(rows[0]!.n) };
  }
  const result = await clients.clickhouse.query({
    query: `SELECT uniqExact(id) AS present, count() AS rows FROM ${target.table} WHERE startsWith(id, ${quoteString(prefix)})`,
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ present: string; rows: string }>();
  return { present: Number(row!.present), rows: Number(row!.rows) };
}

export function tally(target: string, expected: number, present: number, rows: number): Tally {
  return { target, expected, present, rows, lost: expected - present, duplicated: rows - present };
}
