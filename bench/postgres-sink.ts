/**
 * The Postgres sink next to what bounds it, on the same N real flights (flights-3m.parquet) in a
 * fresh 6-partition topic, in one run:
 *   consume-only   a kafkajs consumer (eachBatch, no decoding) reading the topic to its end
 *   \copy          psql `\copy` of the same rows from a TSV file into a fresh table (same indexes)
 *   before         (with `--before <checkout>`) the sink of another checkout, e.g. /work/main
 *   sink           this checkout's samples-flights-postgres sink into a fresh table
 * Each sink stage is timed from its start until its offsets in `sink_offsets` reach the topic's end
 * (rows and offsets commit together), then the table's distinct ids are checked against N.
 * Run (services up): node --import tsx bench/postgres-sink.ts [N] [--max-rows R] [--before <dir>]
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import type { Message } from 'kafkajs';
import * as current from '../connectors/sinks/index.ts';
import { flightsToPostgres } from '../connectors/sinks/samples-flights.ts';
import { loadConfig } from '../core/config.ts';
import { createKafka, producerDefaults } from '../core/kafka.ts';
import { createPostgresPool } from '../core/postgres.ts';
import { Registry } from '../core/schema-registry.ts';
import { valueSubjectOf } from '../schemas/topic-spec.ts';
import { parquetFlights } from '../testkit/flights-parquet.ts';
import { eventually, flightTopic } from '../testkit/helpers.ts';
import { consumeOnly } from './raw-loop.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'max-rows': { type: 'string', default: '10000' }, before: { type: 'string' } },
});
const N = Number(positionals[0] ?? 300_000);
const maxRows = Number(values['max-rows']);
const run = `pgsink_${randomBytes(3).toString('hex')}`;
const kafka = createKafka('millrace-bench');
const registry = new Registry();
const db = createPostgresPool(2);
const sh = promisify(execFile);
const say = (text: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
const results: { stage: string; seconds: number; perSecond: number }[] = [];
const record = (stage: string, ms: number) => {
  results.push({ stage, seconds: ms / 1000, perSecond: Math.round(N / (ms / 1000)) });
  say(`${stage}: ${(ms / 1000).toFixed(2)} s`);
};
const tables: string[] = [];
const freshTable = async (name: string) => {
  const table = `${run}_${name}`;
  await db.query(`CREATE TABLE ${table} (LIKE samples_flights INCLUDING ALL)`);
  tables.push(table);
  return table;
};

async function produce(topic: string, file: string): Promise<void> {
  const producer = kafka.producer({ ...producerDefaults, idempotent: true });
  await producer.connect();
  const out = createWriteStream(file);
  let line = 0;
  for await (const chunk of parquetFlights(N)) {
    const messages: Message[] = [];
    for (const f of chunk) messages.push({ key: f.id, value: await registry.encode(valueSubjectOf(topic), f) });
    for (let i = 0; i < messages.length; i += 5_000)
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 5_000) });
    // the same rows for \copy; the lineage columns get partition 0 and the line number
    const text = chunk
      .map((f) =>
        [
          f.id,
          f.tenant_id,
          new Date(f.event_time).toISOString(),
          f.origin,
          f.destination,
          f.distance,
          f.delay,
          0,
          line++,
        ].join('\t'),
      )
      .join('\n');
    if (!out.write(`${text}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  await producer.disconnect();
}

type SinkModule = Pick<typeof current, 'startSink' | 'withOverrides'>;

/** One sink (this checkout's or another's) from the start of the topic into a fresh table. */
async function sinkRun(sinks: SinkModule, spec: typeof flightsToPostgres, topic: string, name: string) {
  const table = await freshTable(name);
  const sinkName = `${run.replace(/_/g, '-')}-${name}`;
  const overrides = { topic, table, name: sinkName, batch: { maxRows, maxMs: 500 } };
  const started = performance.now();
  const sink = await sinks.startSink(sinks.withOverrides(spec, overrides), { kafka, registry });
  await eventually(
    `${name} to make every offset durable`,
    async () => {
      const { rows } = await db.query<{ n: string }>(
        'SELECT coalesce(sum(next_offset), 0) AS n FROM sink_offsets WHERE sink = $1 AND topic = $2',
        [sinkName, topic],
      );
      return Number(rows[0]!.n) >= N ? true : undefined;
    },
    600_000,
  );
  const ms = performance.now() - started;
  await sink.stop();
  const { rows } = await db.query<{ n: string }>(`SELECT count(DISTINCT (tenant_id, id)) AS n FROM ${table}`);
  if (Number(rows[0]!.n) !== N) throw new Error(`${name}: ${rows[0]!.n} distinct rows, expected ${N}`);
  await db.query('DELETE FROM sink_offsets WHERE sink = $1', [sinkName]);
  return ms;
}

async function main(): Promise<void> {
  const topic = (await flightTopic(`${run}`, 6)).name;
  const file = path.join(tmpdir(), `${run}.tsv`);
  const [load] = (await sh('cat', ['/proc/loadavg'])).stdout.split(' ');
  say(`${N} flights into ${topic}, load average ${load}`);
  try {
    await produce(topic, file);
    record(
      'kafkajs consume-only (eachBatch, no decode)',
      await consumeOnly({ kafka, input: topic, count: N, timeoutMs: 600_000, partitions: 6 }),
    );

    const direct = await freshTable('copy');
    const columns = 'id, tenant_id, event_time, origin, destination, distance, delay, source_partition, source_offset';
    const started = performance.now();
    await sh('psql', [loadConfig().POSTGRES_URL, '-c', `\\copy ${direct} (${columns}) FROM '${file}'`]);
    record('psql \\copy from a file', performance.now() - started);

    if (values.before) {
      const dir = path.resolve(values.before);
      const before = (await import(path.join(dir, 'connectors/sinks/index.ts'))) as SinkModule;
      const { flightsToPostgres: spec } = (await import(path.join(dir, 'connectors/sinks/samples-flights.ts'))) as {
        flightsToPostgres: typeof flightsToPostgres;
      };
      record(`Postgres sink before (${dir})`, await sinkRun(before, spec, topic, 'before'));
    }
    record('Postgres sink (this checkout)', await sinkRun(current, flightsToPostgres, topic, 'sink'));
  } finally {
    rmSync(file, { force: true });
    for (const table of tables) await db.query(`DROP TABLE IF EXISTS ${table}`);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
  }

  const bound = Math.min(results[0]!.perSecond, results[1]!.perSecond);
  const [after] = (await sh('cat', ['/proc/loadavg'])).stdout.split(' ');
  for (const r of results)
    process.stdout.write(
      `${r.stage.padEnd(52)} ${r.seconds.toFixed(2).padStart(7)} s ${String(r.perSecond).padStart(8)} rows/s  ${(r.perSecond / bound).toFixed(2)}x the lower bound\n`,
    );
  process.stdout.write(`${N} rows, batch.maxRows ${maxRows}; load average ${load} at the start, ${after} at the end\n`);
  await db.end();
}

await main();
process.exit(0);
