/**
 * `millrace produce` next to its bound: N real flights (flights-3m.parquet) written as JSON lines to
 * a file, then
 *   cli   `node bin/millrace.js produce --topic T < file` (read, parse, validate, encode, send),
 *         timed from spawn to exit, and its own rate (its summary line: first read to last ack);
 *   raw   a kafkajs producer alone sending the same records' Avro bytes, with the CLI's request
 *         size and requests in flight, idempotent with acks from all replicas like the CLI;
 * each into a fresh topic (removed afterwards), every topic counted back from its offsets.
 *
 *   node --import tsx bench/produce-cli.ts [N] [rounds]   (300,000 and 2 by default; services up,
 *   `npm run build` done). Rounds alternate raw and cli; the best of each is compared.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, openSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Message } from 'kafkajs';
import { IN_FLIGHT, REQUEST_RECORDS } from '../bin/commands/produce.ts';
import { createKafka, producerDefaults } from '../core/kafka.ts';
import { Registry } from '../core/schema-registry.ts';
import { valueSubjectOf } from '../schemas/topic-spec.ts';
import { parquetFlights } from '../testkit/flights-parquet.ts';
import { flightTopic } from '../testkit/helpers.ts';

const N = Number(process.argv[2] ?? 300_000);
const ROUNDS = Number(process.argv[3] ?? 2);
const root = path.join(import.meta.dirname, '..');
const kafka = createKafka('millrace-bench-produce');
const admin = kafka.admin();
await admin.connect();

const say = (line: string) => process.stdout.write(`${line}\n`);
const perSecond = (records: number, ms: number) => Math.round(records / (ms / 1000));

/** Records in the topic, from its partitions' end offsets (each topic is fresh: they start at 0). */
const countIn = async (topic: string) =>
  (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.offset), 0);

/** `millrace produce` in a process of its own, stdin from the file, as a user runs it. */
async function runCli(file: string, topic: string) {
  const started = performance.now();
  const cli = spawn(process.execPath, [path.join(root, 'bin', 'millrace.js'), 'produce', '--topic', topic], {
    stdio: [openSync(file, 'r'), 'ignore', 'pipe'],
  });
  let stderr = '';
  cli.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(cli, 'exit')) as [number];
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`millrace produce exited ${code}: ${stderr}`);
  const own = /\(([\d.]+) s, /.exec(stderr);
  return { wallMs, ownMs: own ? Number(own[1]) * 1000 : wallMs, summary: stderr.trim().split('\n').at(-1) ?? '' };
}

/** The same bytes by kafkajs alone: the CLI's request size and requests in flight. */
async function runRaw(messages: Message[], topic: string): Promise<number> {
  const producer = kafka.producer({ ...producerDefaults, idempotent: true, maxInFlightRequests: 5 });
  await producer.connect();
  const started = performance.now();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < messages.length; i += REQUEST_RECORDS) {
    const sending = producer.send({ topic, acks: -1, messages: messages.slice(i, i + REQUEST_RECORDS) });
    sending.catch(() => {});
    inFlight.push(sending);
    if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const ms = performance.now() - started;
  await producer.disconnect();
  return ms;
}

const dir = mkdtempSync(path.join(tmpdir(), 'millrace-produce-bench-'));
const file = path.join(dir, 'flights.jsonl');
const topics: string[] = [];
const freshTopic = async (name: string) => {
  const { name: topic } = await flightTopic(name);
  topics.push(topic);
  return topic;
};
try {
  // the input: JSON lines for the CLI; the same records encoded once, up front, for the raw producer
  const firstRaw = await freshTopic('build_produce_raw');
  const encode = await new Registry().encoder(valueSubjectOf(firstRaw));
  const messages: Message[] = [];
  const out = createWriteStream(file);
  for await (const chunk of parquetFlights(N)) {
    const text = chunk.map((f) => JSON.stringify(f)).join('\n') + '\n';
    if (!out.write(text)) await once(out, 'drain');
    for (const f of chunk) messages.push({ key: f.id, value: encode(f) });
  }
  out.end();
  await once(out, 'finish');
  say(`${N.toLocaleString('en')} flights as JSON lines; ${ROUNDS} round(s) of raw then cli, each into a fresh topic`);

  let bestRaw = Infinity;
  let bestCli = { wallMs: Infinity, ownMs: Infinity, summary: '' };
  for (let round = 1; round <= ROUNDS; round += 1) {
    const rawTopic = round === 1 ? firstRaw : await freshTopic('build_produce_raw');
    const rawMs = await runRaw(messages, rawTopic);
    const cliTopic = await freshTopic('build_produce_cli');
    const cli = await runCli(file, cliTopic);
    const [inRaw, inCli] = [await countIn(rawTopic), await countIn(cliTopic)];
    if (inCli !== N || inRaw !== N)
      throw new Error(`expected ${N} records in each topic, found ${inRaw} (raw) and ${inCli} (cli)`);
    say(
      `round ${round}: raw ${perSecond(N, rawMs).toLocaleString('en')} records/s; cli ${perSecond(N, cli.ownMs).toLocaleString('en')} records/s (${perSecond(N, cli.wallMs).toLocaleString('en')} from spawn to exit); all ${N.toLocaleString('en')} in both topics`,
    );
    say(`  cli said: ${cli.summary}`);
    bestRaw = Math.min(bestRaw, rawMs);
    if (cli.ownMs < bestCli.ownMs) bestCli = cli;
  }
  const [raw, own, wall] = [perSecond(N, bestRaw), perSecond(N, bestCli.ownMs), perSecond(N, bestCli.wallMs)];
  say(
    `best: raw ${raw.toLocaleString('en')} records/s, cli ${own.toLocaleString('en')} records/s (${wall.toLocaleString('en')} from spawn to exit)`,
  );
  say(`ratio cli/raw ${(own / raw).toFixed(2)}x (from spawn to exit ${(wall / raw).toFixed(2)}x)`);
} finally {
  await admin.deleteTopics({ topics: topics.flatMap((t) => [t, `${t}.dlq`]) }).catch(() => {}); // flightTopic made a DLQ
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
