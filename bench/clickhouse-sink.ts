/**
 * The ClickHouse sink next to what bounds it, on one fresh topic of N real flights, in one run:
 *   consume-only   kafkajs eachBatch counting records, no decoding: the client's bound for a sink
 *   file           clickhouse-client INSERT of the same rows from a TabSeparated file: the server's bound
 *   main           the sink as the checkout at --main (default /work/main) has it
 *   this           the sink of this checkout
 * each sink in a process of its own (bench/clickhouse-sink-child.ts), timed from its group join
 * until the table holds N rows, then checked (N rows, N distinct ids, no FINAL). Then the latency
 * from produce to visible in ClickHouse at --rate records/s for --seconds, polled every --poll-ms
 * as bench/flights.ts does, for both sinks; with --via-processor through bench/flights-processor.ts
 * first (bench/flights.ts's path).
 * Run (services up): node --import tsx bench/clickhouse-sink.ts [N] [--main DIR] [--max-rows 10000]
 *   [--max-ms 500] [--rate 1000] [--seconds 20] [--poll-ms 100] [--via-processor] [--skip-throughput]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify, parseArgs } from 'node:util';
import { createClickHouse } from '../core/clickhouse.ts';
import { loadConfig } from '../core/config.ts';
import { createKafka, producerDefaults } from '../core/kafka.ts';
import { Registry } from '../core/schema-registry.ts';
import { eventually, flightTopic } from '../testkit/helpers.ts';
import { manyFlights, produceFlights } from '../testkit/processor-helpers.ts';
import { scoredFlightsTopic } from './flights-transform.ts';
import { visibleLatency } from './visible-latency.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    main: { type: 'string', default: '/work/main' },
    'max-rows': { type: 'string', default: '10000' },
    'max-ms': { type: 'string', default: '500' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '20' },
    'poll-ms': { type: 'string', default: '100' },
    'via-processor': { type: 'boolean', default: false },
    'skip-throughput': { type: 'boolean', default: false },
  },
});
const N = Number(positionals[0] ?? 300_000);
const run = randomBytes(3).toString('hex');
const kafka = createKafka('millrace-bench');
const registry = new Registry();
const clickhouse = createClickHouse();
const sh = promisify(execFile);
const say = (text: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const trees = { main: path.resolve(opts.main), this: root } as const;
const tables: string[] = [];
const topics: string[] = [];
const figures: Record<string, unknown> = { date: new Date().toISOString(), records: N };

async function freshTable(label: string): Promise<string> {
  const table = `chsink_${run}_${label}`;
  await clickhouse.command({ query: `CREATE TABLE ${table} AS samples_flights` });
  tables.push(table);
  return table;
}

async function scalar(query: string): Promise<number> {
  const [row] = await (await clickhouse.query({ query, format: 'JSONEachRow' })).json<{ v: string }>();
  return Number(row!.v);
}

function child(args: string[], name: string): ChildProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  proc.on('exit', (code, signal) => code && say(`${name} exited with ${code ?? signal}`));
  return proc;
}

/** The first line a child prints. */
const firstLine = (proc: ChildProcess) =>
  new Promise<string>((resolve, reject) => {
    let text = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.split('\n')[0]!);
    });
    proc.once('exit', (code) => reject(new Error(`exited with ${code} before a line`)));
  });

const sinkArgs = (tree: keyof typeof trees, topic: string, table: string, extra: string[] = []) => [
  path.join(here, 'clickhouse-sink-child.ts'),
  trees[tree],
  topic,
  table,
  `chsink-${tree}-${run}-${randomBytes(2).toString('hex')}`,
  opts['max-rows'],
  opts['max-ms'],
  ...extra,
];

interface Timed {
  ms: number;
  /** CPU time of the process that did the work, where it is one of ours. */
  cpuMs?: number;
}

async function consumeOnly(topic: string): Promise<Timed> {
  const consumer = kafka.consumer({ groupId: `chsink-consume-${run}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let started = 0;
  let cpuAtStart = process.cpuUsage();
  let seen = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    started = performance.now();
    cpuAtStart = process.cpuUsage();
  });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      seen += batch.messages.length;
    },
  });
  await eventually('consume-only to read everything', () => (seen >= N ? true : undefined), 600_000);
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuAtStart);
  await consumer.disconnect();
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

async function fileInsert(topic: string): Promise<Timed> {
  const table = await freshTable('file');
  const file = path.join(tmpdir(), `chsink-${run}.tsv`);
  const out = createWriteStream(file);
  const flights = manyFlights(N);
  for (let i = 0; i < flights.length; i += 10_000) {
    const text = flights
      .slice(i, i + 10_000)
      .map((f, j) =>
        [
          f.id,
          f.tenant_id,
          Math.floor(f.event_time / 1000),
          f.origin,
          f.destination,
          f.distance,
          f.delay,
          topic,
          0,
          i + j,
        ].join('\t'),
      )
      .join('\n');
    if (!out.write(`${text}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  const { CLICKHOUSE_DATABASE, CLICKHOUSE_TCP_PORT } = loadConfig();
  const columns = 'id, tenant_id, event_time, origin, destination, distance, delay, _topic, _partition, _offset';
  const started = performance.now();
  await sh('bash', [
    '-c',
    `clickhouse-client --port ${CLICKHOUSE_TCP_PORT} --database ${CLICKHOUSE_DATABASE} --query "INSERT INTO ${table} (${columns}) FORMAT TabSeparated" < ${file}`,
  ]);
  const ms = performance.now() - started;
  await sh('rm', ['-f', file]);
  return { ms };
}

async function sinkThroughput(tree: keyof typeof trees, topic: string): Promise<Timed> {
  const table = await freshTable(tree);
  const proc = child(sinkArgs(tree, topic, table, [String(N)]), `${tree} sink`);
  const timed = JSON.parse(await firstLine(proc)) as Timed;
  await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)));
  const rows = await scalar(`SELECT count() AS v FROM ${table}`);
  const ids = await scalar(`SELECT uniqExact(tenant_id, id) AS v FROM ${table}`);
  if (rows !== N || ids !== N) throw new Error(`${tree} sink: ${rows} rows, ${ids} ids, expected ${N}`);
  return timed;
}

/** Produce -> (processor ->) sink -> visible in ClickHouse, at a fixed rate (bench/visible-latency.ts). */
async function latency(tree: keyof typeof trees) {
  const input = (await flightTopic(`chsink_latency`, 6)).name;
  topics.push(input);
  const scoredTopic = opts['via-processor']
    ? await scoredFlightsTopic(kafka, registry, `test.chsink_scored_${run}_${tree}.scored`)
    : undefined;
  if (scoredTopic) topics.push(scoredTopic);
  const table = await freshTable(`lat_${tree}`);
  const procs: ChildProcess[] = [];
  if (scoredTopic)
    procs.push(
      child([path.join(here, 'flights-processor.ts'), input, scoredTopic, `chsink-lat-${run}-${tree}`], 'processor'),
    );
  const sink = child(sinkArgs(tree, scoredTopic ?? input, table), `${tree} sink`);
  procs.push(sink);
  await firstLine(sink);
  const producer = kafka.producer({ ...producerDefaults, idempotent: true });
  await producer.connect();
  try {
    const figures = await visibleLatency({
      kafka,
      producer,
      registry,
      clickhouse,
      input,
      scoredTopic,
      table,
      base: manyFlights(1)[0]!,
      perSecond: Number(opts.rate),
      seconds: Number(opts.seconds),
      pollMs: Number(opts['poll-ms']),
    });
    const parts = await scalar(
      `SELECT count() AS v FROM system.parts WHERE active AND database = currentDatabase() AND table = '${table}'`,
    );
    return { ...figures, activePartsAfter: parts, load: load() };
  } finally {
    await producer.disconnect();
    for (const proc of procs) {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)));
    }
  }
}

async function main(): Promise<void> {
  say(`load average ${load()}`);
  if (!opts['skip-throughput']) {
    const topic = (await flightTopic('chsink_bench', 6)).name;
    topics.push(topic);
    say(`producing ${N} flights to ${topic}...`);
    await produceFlights(kafka, registry, topic, manyFlights(N), 5000);
    const stages: [string, () => Promise<Timed>][] = [
      ['consume-only (kafkajs eachBatch, no decode)', () => consumeOnly(topic)],
      ['clickhouse-client INSERT from a TSV file', () => fileInsert(topic)],
      [`sink, ${trees.main}`, () => sinkThroughput('main', topic)],
      [`sink, ${trees.this}`, () => sinkThroughput('this', topic)],
    ];
    const rows: { stage: string; seconds: number; perSecond: number; cpuSeconds?: number; load: string }[] = [];
    for (const [stage, work] of stages) {
      say(`${stage}...`);
      const { ms, cpuMs } = await work();
      const cpuSeconds = cpuMs === undefined ? undefined : cpuMs / 1000;
      rows.push({ stage, seconds: ms / 1000, perSecond: Math.round(N / (ms / 1000)), cpuSeconds, load: load() });
      say(`${stage}: ${(ms / 1000).toFixed(2)} s, ${rows.at(-1)!.perSecond} rows/s (load ${load()})`);
    }
    const consume = rows[0]!.perSecond;
    for (const r of rows)
      process.stdout.write(
        `${r.stage.padEnd(48)} ${r.seconds.toFixed(2).padStart(7)} s ${String(r.perSecond).padStart(9)} rows/s  ${(r.perSecond / consume).toFixed(2)}x consume-only  CPU ${r.cpuSeconds?.toFixed(2) ?? '-'} s  load ${r.load}\n`,
      );
    figures.throughput = rows;
  }
  const lat: Record<string, unknown> = {};
  for (const tree of ['main', 'this'] as const) {
    say(
      `latency at ${opts.rate}/s for ${opts.seconds} s, ${tree}${opts['via-processor'] ? ', through the processor' : ''}...`,
    );
    lat[tree] = await latency(tree);
    process.stdout.write(`latency ${tree}: ${JSON.stringify(lat[tree])}\n`);
  }
  figures.latency = {
    rate: Number(opts.rate),
    viaProcessor: opts['via-processor'],
    pollMs: Number(opts['poll-ms']),
    ...lat,
  };
  const file = path.join(here, 'results', `clickhouse-sink-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...figures, options: opts }, null, 2));
}

try {
  await main();
} finally {
  for (const table of tables) await clickhouse.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => {});
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: topics.flatMap((t) => [t, `${t}.dlq`]) }).catch(() => {});
  await admin.disconnect();
  await clickhouse.close();
}
process.exit(0);
