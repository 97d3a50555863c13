/**
 * 3 million real flights (vega-datasets flights-3m.parquet) through Millrace, each stage next to the
 * baseline that bounds it, in one run:
 *   ingest      parquet (streamed by row group) -> Avro -> a 6-partition topic; baseline: the same
 *               encoded bytes produced by kafkajs alone, same batching
 *   processor   the runtime with a realistic transform (decode, features, batch ONNX, encode,
 *               exactly-once); baseline: a raw kafkajs consume-then-produce loop over the same topic
 *   sinks       the topic into ClickHouse and into Postgres; baselines: kafkajs consume-only of the
 *               same topic (the client's bound), clickhouse-client inserting the same rows from a
 *               file, psql \copy of the same file (the databases' bounds)
 *   peers       what a user would run instead, on the same broker and flights (skipped by --no-peers;
 *               one that cannot run is reported and the run goes on): ClickHouse's Kafka engine with
 *               a materialized view, fed a JSON copy of the flights (bench/clickhouse-kafka-engine.ts);
 *               Kafka Connect with Debezium's JDBC sink into Postgres on the Avro topic itself
 *               (bench/kafka-connect.ts, jars fetched with mvn on first use)
 *   end to end  produce -> processor -> both sinks (each its own process), until the last row is
 *               queryable in ClickHouse; peak RSS of every process; then the latency from produce
 *               to visible in ClickHouse at a fixed offered load
 *   api         bench/api-analytics.ts with 50 connections
 *   check       count and sum(delay) per origin in ClickHouse equal those read from the parquet file
 * Prints a table and writes bench/results/flights-<time>.json.
 * Run (services up: `npm run infra:up && npm run provision`): npm run bench -- flights [N] [--no-peers]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { Message } from 'kafkajs';
import { startSink } from '../connectors/sinks/index.ts';
import { createClickHouse } from '../core/clickhouse.ts';
import { loadConfig } from '../core/config.ts';
import { createKafka, producerDefaults } from '../core/kafka.ts';
import { createPostgresPool } from '../core/postgres.ts';
import { Registry } from '../core/schema-registry.ts';
import { valueSubjectOf } from '../schemas/topic-spec.ts';
import { processorGroupOf, runProcessor } from '../processors/runtime/index.ts';
import { parquetFlights } from '../testkit/flights-parquet.ts';
import { eventually, flightTopic } from '../testkit/helpers.ts';
import { waitForCommitted } from '../testkit/processor-helpers.ts';
import { dropTables, sampleSinks } from '../testkit/sink-helpers.ts';
import { clickhouseKafkaEngine, clickhouseRow, jsonCopy } from './clickhouse-kafka-engine.ts';
import { visibleLatency, type VisibleLatency } from './visible-latency.ts';
import { flightsScoring, scoredFlightsTopic } from './flights-transform.ts';
import { connectJars, connectVersions, kafkaConnectJdbcSink } from './kafka-connect.ts';
import { consumeOnly, rawLoop } from './raw-loop.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const args = process.argv.slice(2);
const N = Number(args.find((a) => !a.startsWith('--')) ?? 3_000_000);
const peers = !args.includes('--no-peers');
const SEND = 5_000; // records per produce request, the same for the platform and the baselines
const run = randomBytes(3).toString('hex');
const kafka = createKafka('millrace-bench');
const registry = new Registry();
const clickhouse = createClickHouse();
const db = createPostgresPool(2);
const sh = promisify(execFile);

interface Row {
  stage: string;
  records: number;
  seconds: number;
  perSecond: number;
  note?: string;
}
const rows: Row[] = [];
const extra: Record<string, unknown> = {};
const say = (text: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
const resultsFile = path.join(here, 'results', `flights-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
/** The figures so far, rewritten after every stage: a later stage failing loses none of them. */
const save = () => {
  mkdirSync(path.dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, JSON.stringify({ date: new Date().toISOString(), records: N, rows, ...extra }, null, 2));
};
/** Dropping a table of millions of rows can outlast a request timeout while merges run: not a reason to lose the figures. */
const cleanUp = (table: string) =>
  dropTables(table).catch((error: Error) => say(`could not drop ${table}: ${error.message}`));
const record = (stage: string, records: number, seconds: number, note?: string) => {
  rows.push({ stage, records, seconds, perSecond: Math.round(records / seconds), note });
  say(`${stage}: ${seconds.toFixed(1)} s`);
  save();
};
const time = async <T>(stage: string, records: number, work: () => Promise<T>, note?: string): Promise<T> => {
  say(`${stage}...`);
  const started = performance.now();
  const result = await work();
  record(stage, records, (performance.now() - started) / 1000, note);
  return result;
};

const sendAll = async (producer: ReturnType<typeof kafka.producer>, topic: string, messages: Message[]) => {
  for (let i = 0; i < messages.length; i += SEND)
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + SEND) });
};

/** Stage 1: parquet -> Avro -> topic, and the same bytes raw; also the reference aggregates. */
async function ingest(topic: string, rawTopic: string) {
  const subject = valueSubjectOf(topic);
  const producer = kafka.producer({ ...producerDefaults, idempotent: true });
  await producer.connect();
  const encoded: Buffer[] = [];
  const byOrigin = new Map<string, { count: number; delay: number }>();
  let bytes = 0;
  await time('ingest: parquet -> Avro -> Kafka', N, async () => {
    for await (const chunk of parquetFlights(N)) {
      const messages: Message[] = [];
      for (const flight of chunk) {
        const value = await registry.encode(subject, flight);
        messages.push({ key: flight.id, value });
        encoded.push(value);
        bytes += value.length;
        const o = byOrigin.get(flight.origin) ?? { count: 0, delay: 0 };
        o.count += 1;
        o.delay += flight.delay;
        byOrigin.set(flight.origin, o);
      }
      await sendAll(producer, topic, messages);
    }
  });
  rows.at(-1)!.note = `${(bytes / 1e6 / rows.at(-1)!.seconds).toFixed(1)} MB/s`;
  await time('baseline: the same bytes, kafkajs alone', N, () =>
    sendAll(
      producer,
      rawTopic,
      encoded.map((value, i) => ({ key: `f${i}`, value })),
    ),
  );
  rows.at(-1)!.note = `${(bytes / 1e6 / rows.at(-1)!.seconds).toFixed(1)} MB/s`;
  await producer.disconnect();
  extra.avroBytes = bytes;
  return byOrigin;
}

const count = async (table: string) =>
  Number(
    (
      await (
        await clickhouse.query({ query: `SELECT count() AS n FROM ${table} FINAL`, format: 'JSONEachRow' })
      ).json<{ n: string }>()
    )[0]!.n,
  );
const pgCount = async (table: string) =>
  Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

/** Stage 3 baselines: the same rows from a TSV file, straight into each database. */
async function directLoads(table: string): Promise<void> {
  const file = path.join(tmpdir(), `millrace-flights-${run}.tsv`);
  const out = createWriteStream(file);
  let line = 0;
  for await (const chunk of parquetFlights(N)) {
    // the sinks' lineage columns get partition 0 and the line number
    const text = chunk
      .map((f) =>
        [
          f.id,
          f.tenant_id,
          new Date(f.event_time).toISOString().slice(0, 19).replace('T', ' '),
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
  const columns = 'id, tenant_id, event_time, origin, destination, distance, delay';
  const { CLICKHOUSE_DATABASE } = loadConfig();
  await time('baseline: clickhouse-client INSERT from the file', N, () =>
    sh('bash', [
      '-c',
      `clickhouse-client --port ${loadConfig().CLICKHOUSE_TCP_PORT} --database ${CLICKHOUSE_DATABASE} --query "INSERT INTO ${table}_direct (${columns}, _partition, _offset) FORMAT TabSeparated" < ${file}`,
    ]),
  );
  await time('baseline: psql \\copy from the file', N, () =>
    sh('psql', [
      loadConfig().POSTGRES_URL,
      '-c',
      `\\copy ${table}_direct (${columns}, source_partition, source_offset) FROM '${file}'`,
    ]),
  );
  await sh('rm', ['-f', file]);
}

/**
 * The peers on the same flights, each timed by itself from its start (engine table or worker) to
 * its last row; the JSON copy and the jar fetch come before the clock. A peer that fails is a
 * finding, printed with its reason: the run goes on.
 */
async function peersOnTheSameRecords(topic: string, delay: number): Promise<void> {
  const errors: Record<string, string> = {};
  const peer = async (name: string, work: () => Promise<void>) => {
    say(`${name}...`);
    await work().catch((error: Error) => {
      errors[name] = error.message.slice(0, 2_000);
      say(`${name} could not run: ${error.message.slice(0, 500)}`);
    });
  };
  const sums = (held: number) => (held === delay ? 'sum(delay) matches' : `sum(delay) ${held}, expected ${delay}`);
  // rows/s once rows flow: start-up (JVM, plugin scan, group join, the first flush) left out
  const flowing = (peerRun: { seconds: number; firstRowSeconds: number; firstRows: number }) =>
    peerRun.firstRows >= N
      ? `all rows appeared in one flush at ${peerRun.firstRowSeconds.toFixed(1)} s`
      : `first ${peerRun.firstRows} rows at ${peerRun.firstRowSeconds.toFixed(1)} s, then ` +
        `${Math.round((N - peerRun.firstRows) / (peerRun.seconds - peerRun.firstRowSeconds)).toLocaleString('en')}/s`;
  await peer('ClickHouse Kafka engine', async () => {
    const jsonTopic = `bench.peers_${run}.json`;
    await jsonCopy(kafka, jsonTopic, parquetFlights(N), clickhouseRow);
    const engine = await clickhouseKafkaEngine(kafka, jsonTopic, N, run);
    extra.clickhouseKafkaEngine = engine;
    record(
      'peer: ClickHouse Kafka engine + materialized view (JSON copy)',
      N,
      engine.seconds,
      `${flowing(engine)}; ${engine.stored} stored; ${sums(engine.delay)}`,
    );
  });
  await peer('Kafka Connect JDBC sink', async () => {
    await connectJars();
    const connect = await kafkaConnectJdbcSink(kafka, topic, N, run);
    extra.kafkaConnect = { versions: connectVersions, ...connect };
    record(
      'peer: Kafka Connect, Debezium JDBC sink -> Postgres (upsert)',
      N,
      connect.seconds,
      `${flowing(connect)}; ${sums(connect.delay)}`,
    );
  });
  extra.peerErrors = errors;
  save();
}

/** Peak and current RSS (MB) of a process, from /proc. */
function rss(pid: number): { peakMb: number; nowMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { peakMb: Math.round(kb('VmHWM') / 1024), nowMb: Math.round(kb('VmRSS') / 1024) };
}

function child(args: string[], name: string): ChildProcess {
  const proc = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  proc.stderr!.on('data', (d: Buffer) =>
    String(d).includes('"level":50') ? say(`${name}: ${String(d).slice(0, 300)}`) : undefined,
  );
  return proc;
}
const stopChild = (proc: ChildProcess) =>
  new Promise<void>((resolve) =>
    proc.exitCode !== null ? resolve() : (proc.once('exit', () => resolve()), proc.kill('SIGTERM')),
  );

/** Stage 4: produce -> processor -> sinks as separate processes; RSS sampled; then latency at fixed loads. */
async function endToEnd() {
  const input = (await flightTopic(`bench_e2e_${run}`, 6)).name;
  const output = await scoredFlightsTopic(kafka, registry, `bench.e2e_${run}.scored`);
  const sinks = await sampleSinks(output, { batch: { maxRows: 10_000, maxMs: 500 } });
  const cli = path.join(root, 'bin', 'millrace.js');
  const tsx = ['--import', 'tsx'];
  const procs = {
    processor: child([...tsx, path.join(here, 'flights-processor.ts'), input, output, `bench-e2e-${run}`], 'processor'),
    clickhouseSink: child(
      [
        cli,
        'sink',
        'samples-flights-clickhouse',
        '--topic',
        output,
        '--table',
        sinks.table,
        '--as',
        `bench-ch-${run}`,
        '--max-rows',
        '10000',
        '--max-ms',
        '500',
      ],
      'clickhouse sink',
    ),
    postgresSink: child(
      [
        cli,
        'sink',
        'samples-flights-postgres',
        '--topic',
        output,
        '--table',
        sinks.table,
        '--as',
        `bench-pg-${run}`,
        '--max-rows',
        '10000',
        '--max-ms',
        '500',
      ],
      'postgres sink',
    ),
  };
  const samples: Record<string, number[]> = { processor: [], clickhouseSink: [], postgresSink: [], bench: [] };
  const sampler = setInterval(() => {
    for (const [name, proc] of Object.entries(procs))
      if (proc.pid && proc.exitCode === null) samples[name]!.push(rss(proc.pid).nowMb);
    samples.bench!.push(rss(process.pid).nowMb);
  }, 5_000);

  const producer = kafka.producer({ ...producerDefaults, idempotent: true });
  await producer.connect();
  const subject = valueSubjectOf(input);
  await time('end to end: produce -> processor -> sinks, until all rows are in ClickHouse', N, async () => {
    for await (const chunk of parquetFlights(N)) {
      const messages = await Promise.all(
        chunk.map(async (f) => ({ key: f.id, value: await registry.encode(subject, f) })),
      );
      await sendAll(producer, input, messages);
    }
    await eventually(
      'every row in ClickHouse',
      async () => ((await count(sinks.table)) >= N ? true : undefined),
      1_800_000,
    );
  });
  await eventually(
    'every row in Postgres',
    async () => ((await pgCount(sinks.table)) >= N ? true : undefined),
    1_800_000,
  );

  // latency (bench/visible-latency.ts), each load under a tenant of its own, first in the table's
  // sorting key, so that a poll reads only the latency rows (a poll scanning the table's N rows took
  // longer than the latency it measured)
  const latency: Record<string, VisibleLatency> = {};
  const base = [...(await parquetFlights(1).next()).value!][0]!;
  for (const perSecond of [1_000, 10_000]) {
    const figures = await visibleLatency({
      kafka,
      producer,
      registry,
      clickhouse,
      input,
      scoredTopic: output,
      table: sinks.table,
      base,
      tenant: `bench-latency-${perSecond}`,
      perSecond,
      seconds: 20,
      pollMs: 10,
      graceMs: 60_000,
    });
    latency[`${perSecond}/s`] = figures;
    say(
      `latency at ${perSecond}/s: p50 ${figures.p50} ms, p99 ${figures.p99} ms (committed by the processor: p99 ${figures.scored?.p99} ms) over ${figures.records} of ${figures.sent} records`,
    );
  }
  clearInterval(sampler);
  const memory = Object.fromEntries(
    Object.entries(procs).map(([name, proc]) => {
      const s = samples[name]!;
      return [name, { peakMb: rss(proc.pid!).peakMb, firstSampleMb: s[0], lastSampleMb: s.at(-1), samples: s.length }];
    }),
  );
  memory.bench = {
    peakMb: rss(process.pid).peakMb,
    firstSampleMb: samples.bench![0],
    lastSampleMb: samples.bench!.at(-1),
    samples: samples.bench!.length,
  };
  await producer.disconnect();
  await Promise.all(Object.values(procs).map(stopChild));
  await cleanUp(sinks.table);
  return { latency, memory };
}

/** Each sink's rows/s as a fraction of its bounds and of its peer (Millrace / other). */
function sinkRatios(): string[] {
  const rate = (prefix: string) => rows.find((r) => r.stage.startsWith(prefix))?.perSecond;
  const of = (mine: number | undefined, prefix: string, label: string) => {
    const other = rate(prefix);
    return mine && other
      ? `${(mine / other).toFixed(2)}x ${label} (${other.toLocaleString('en')}/s)`
      : `${label}: not measured`;
  };
  const consume = 'baseline: kafkajs consume-only';
  const clickhouseSink = rate('sink: Kafka -> ClickHouse');
  const postgresSink = rate('sink: Kafka -> Postgres');
  const errors = (extra.peerErrors ?? {}) as Record<string, string>;
  return [
    'sinks (Millrace rows/s over each bound and peer):',
    `  ClickHouse sink ${clickhouseSink?.toLocaleString('en')}/s: ${of(clickhouseSink, consume, 'consume-only')}, ` +
      `${of(clickhouseSink, 'baseline: clickhouse-client', 'clickhouse-client')}, ${of(clickhouseSink, 'peer: ClickHouse Kafka engine', 'ClickHouse Kafka engine')}`,
    `  Postgres sink ${postgresSink?.toLocaleString('en')}/s: ${of(postgresSink, consume, 'consume-only')}, ` +
      `${of(postgresSink, 'baseline: psql', 'psql \\copy')}, ${of(postgresSink, 'peer: Kafka Connect', 'Kafka Connect JDBC sink')}`,
    ...(peers ? [`  peers: ${connectVersions}`] : ['  peers: skipped (--no-peers)']),
    ...Object.entries(errors).map(([name, error]) => `  ${name} could not run: ${error.slice(0, 400)}`),
  ];
}

async function main(): Promise<void> {
  say(`${N.toLocaleString('en')} flights from flights-3m.parquet`);
  const topic = (await flightTopic(`bench_flights_${run}`, 6)).name;
  const rawTopic = (await flightTopic(`bench_flights_raw_${run}`, 6)).name;
  const byOrigin = await ingest(topic, rawTopic);

  const scored = await scoredFlightsTopic(kafka, registry, `bench.scored_${run}.scored`);
  const spec = await flightsScoring(topic, scored, `bench-flights-${run}`);
  await time('processor: decode, features, batch ONNX, encode (exactly-once)', N, async () => {
    const processor = await runProcessor(spec, { kafka, registry });
    await waitForCommitted(kafka, processorGroupOf(spec.name), topic, N, 1_800_000);
    await processor.stop();
  });
  const rawOut = (await flightTopic(`bench_flights_copy_${run}`, 6)).name;
  await time('baseline: raw kafkajs consume-then-produce', N, () =>
    rawLoop({ kafka, input: topic, output: rawOut, count: N, sendSize: SEND, timeoutMs: 1_800_000 }),
  );

  const sinks = await sampleSinks(topic, { batch: { maxRows: 10_000, maxMs: 500 } });
  await clickhouse.command({ query: `CREATE TABLE ${sinks.table}_direct AS ${sinks.table}` });
  await db.query(`CREATE TABLE ${sinks.table}_direct (LIKE ${sinks.table} INCLUDING ALL)`);
  for (const [stage, sinkSpec, rowsIn] of [
    ['sink: Kafka -> ClickHouse', sinks.clickhouse, count],
    ['sink: Kafka -> Postgres', sinks.postgres, pgCount],
  ] as const) {
    await time(stage, N, async () => {
      const sink = await startSink(sinkSpec, { kafka, registry });
      await eventually(stage, async () => ((await rowsIn(sinks.table)) >= N ? true : undefined), 1_800_000);
      await sink.stop();
    });
  }
  // its own clock, from subscribe to the last record fetched: wrapped in time(), the disconnect would count too,
  // and it waits out the fetch long-poll in flight (up to 5 s)
  const consumeStage = 'baseline: kafkajs consume-only of the same topic (eachBatch, no decode)';
  say(`${consumeStage}...`);
  const consumeMs = await consumeOnly({ kafka, input: topic, count: N, timeoutMs: 1_800_000, partitions: 6 });
  record(consumeStage, N, consumeMs / 1000);
  await directLoads(sinks.table);
  if (peers)
    await peersOnTheSameRecords(
      topic,
      [...byOrigin.values()].reduce((sum, o) => sum + o.delay, 0),
    );

  // correctness: per origin, what ClickHouse holds equals what the parquet file says
  const held = await (
    await clickhouse.query({
      query: `SELECT origin, count() AS n, sum(delay) AS delay FROM ${sinks.table} FINAL GROUP BY origin`,
      format: 'JSONEachRow',
    })
  ).json<{ origin: string; n: string; delay: string }>();
  const mismatches =
    held.filter(
      (h) => byOrigin.get(h.origin)?.count !== Number(h.n) || byOrigin.get(h.origin)?.delay !== Number(h.delay),
    ).length + Math.abs(byOrigin.size - held.length);
  extra.check = { origins: byOrigin.size, mismatches };
  say(`check: ${byOrigin.size} origins, ${mismatches} mismatching count or sum(delay)`);
  save();
  await clickhouse
    .command({ query: `DROP TABLE IF EXISTS ${sinks.table}_direct` })
    .catch((error: Error) => say(`could not drop ${sinks.table}_direct: ${error.message}`));
  await db.query(`DROP TABLE IF EXISTS ${sinks.table}_direct`);
  await cleanUp(sinks.table);

  Object.assign(extra, await endToEnd());
  save();

  say('api: bench/api-analytics.ts, 50 connections');
  // a failure there (timeouts under 50 connections) is a figure too, not a reason to lose the others
  extra.api = await sh(process.execPath, ['--import', 'tsx', path.join(here, 'api-analytics.ts'), '10', '50'], {
    cwd: root,
    maxBuffer: 16 << 20,
  }).then(
    (api) => api.stdout,
    (error: Error & { stdout?: string; stderr?: string }) =>
      `${error.stdout ?? ''}failed: ${/Error: (.*)/.exec(error.stderr ?? '')?.[1] ?? error.message}`,
  );

  const ratio = (a: string, b: string) =>
    (rows.find((r) => r.stage.startsWith(b))!.perSecond / rows.find((r) => r.stage.startsWith(a))!.perSecond).toFixed(
      2,
    );
  const out = [
    `${'stage'.padEnd(78)} ${'records'.padStart(9)} ${'s'.padStart(7)} ${'records/s'.padStart(10)}`,
    ...rows.map(
      (r) =>
        `${r.stage.padEnd(78)} ${String(r.records).padStart(9)} ${r.seconds.toFixed(1).padStart(7)} ${String(r.perSecond).padStart(10)}  ${r.note ?? ''}`,
    ),
    '',
    `ratios (baseline / Millrace): ingest ${ratio('ingest', 'baseline: the same bytes')}x, processor ${ratio('processor', 'baseline: raw kafkajs')}x, ` +
      `ClickHouse ${ratio('sink: Kafka -> ClickHouse', 'baseline: clickhouse-client')}x, Postgres ${ratio('sink: Kafka -> Postgres', 'baseline: psql')}x`,
    ...sinkRatios(),
    `latency produce -> visible in ClickHouse (ms): ${JSON.stringify(extra.latency)}`,
    `memory (MB, RSS): ${JSON.stringify(extra.memory)}`,
    `check: ${JSON.stringify(extra.check)}`,
    '',
    String(extra.api),
  ].join('\n');
  process.stdout.write(`${out}\n`);
  save();
  say(`results: ${path.relative(root, resultsFile)}`);
  await Promise.all([clickhouse.close(), db.end()]);
}

await main();
process.exit(0);
