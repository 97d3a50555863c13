/**
 * README's "Bring your own client" section, followed verbatim: its files (```lang file=NAME) are
 * written as given into a folder of the checkout, and its shell blocks run there in order, with
 * Debian's python3 first on PATH and the flights sinks running in-process on the catalogue's
 * topics, as `npm start` runs them. Every block must succeed, and say what the README says it does.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { flightsToClickHouse, flightsToPostgres } from '../../connectors/sinks/samples-flights.ts';
import { startSink } from '../../connectors/sinks/index.ts';
import type { RunningSink } from '../../connectors/sinks/runtime/run.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { Registry } from '../../core/schema-registry.ts';
import { DEBIAN_PYTHON, ensurePythonKafkaClients } from '../../infra/python-clients.ts';
import { eventually } from '../../testkit/helpers.ts';
import { progress } from '../../testkit/processor-helpers.ts';

const root = loadConfig().repoRoot;
const folder = path.join(root, '.scratch', `readme-client-${randomBytes(4).toString('hex')}`);

interface Block {
  lang: string;
  file?: string;
  body: string;
}

/** The fenced blocks of one `### ` section of README.md, in order. */
function sectionBlocks(title: string): Block[] {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n### ${title}\n`);
  assert.ok(start >= 0, `README has a section "${title}"`);
  const rest = readme.slice(start + title.length + 6);
  const section = rest.slice(0, rest.search(/\n##+ /));
  return [...section.matchAll(/^```(\w+)([^\n]*)\n([\s\S]*?)^```$/gm)].map(([, lang, info, body]) => ({
    lang: lang!,
    file: /\bfile=(\S+)/.exec(info!)?.[1],
    body: body!,
  }));
}

function bash(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // as on a Debian machine: `python3` is Debian's, the one that sees its packages
  const env = { ...process.env, PATH: `${path.dirname(DEBIAN_PYTHON)}:${process.env.PATH ?? ''}` };
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: folder, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const kafka = createKafka('millrace-test');
let sinks: RunningSink[] = [];

before(async () => {
  await ensurePythonKafkaClients();
  mkdirSync(folder, { recursive: true });
  // what `npm start` runs for samples.flights.raw, caught up before the README's records arrive
  const registry = new Registry();
  sinks = await Promise.all(
    [flightsToClickHouse, flightsToPostgres].map((spec) => startSink(spec, { kafka, registry })),
  );
  await Promise.all(sinks.map((s) => s.joined));
  for (const spec of [flightsToClickHouse, flightsToPostgres]) {
    await eventually(
      `${spec.name} caught up`,
      async () => {
        const { committed, end } = await progress(kafka, `millrace.sink.${spec.name}`, 'samples.flights.raw');
        return committed === end ? true : undefined;
      },
      120_000,
    );
  }
});

after(async () => {
  await Promise.all(sinks.map((s) => s.stop()));
  rmSync(folder, { recursive: true, force: true });
});

describe('README: bring your own client', () => {
  it('runs as written', { timeout: 300_000 }, async () => {
    const blocks = sectionBlocks('Bring your own client');
    for (const block of blocks.filter((b) => b.file)) writeFileSync(path.join(folder, block.file!), block.body);
    assert.deepEqual(
      blocks.filter((b) => b.file).map((b) => b.file),
      ['produce_flights.py', 'read_topic.py', 'ReadTopic.java'],
    );
    const scripts = blocks.filter((b) => b.lang === 'sh');
    assert.equal(scripts.length, 3, 'the section has three shell blocks, each checked below');
    const results: string[] = [];
    for (const script of scripts) {
      const result = await bash(script.body);
      assert.equal(result.code, 0, `${script.body}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
      results.push(result.stdout);
    }
    const [produced, refused, dlq] = results as [string, string, string];

    // the producer's line, then five records from each reader: key, tab, the decoded value
    const lines = produced.trim().split('\n');
    assert.match(lines[0]!, /^sent 100 flights, ids py-[0-9a-f]{8}-0 to py-[0-9a-f]{8}-99$/);
    const read = lines.slice(1);
    assert.equal(read.length, 10, produced);
    for (const line of read) {
      const [key, value] = line.split('\t') as [string, string];
      const flight = JSON.parse(value) as { id: string; tenant_id: string; distance: number };
      assert.equal(key, flight.id);
      assert.ok(flight.tenant_id && Number.isInteger(flight.distance), line);
    }

    assert.equal((JSON.parse(refused) as { error_code: number }).error_code, 42205);
    assert.match(refused, /samples\.flights\.raw-key is read-only: .*plain UTF-8 string keys \(StringSerializer\)/);

    // one copy per sink, each naming its stage
    const copies = dlq.trim().split('\n');
    const stages = copies.map((c) => /millrace\.stage:([^,\t]+)/.exec(c)?.[1]).sort();
    assert.deepEqual(stages, ['sink.samples-flights-clickhouse', 'sink.samples-flights-postgres'], dlq);
    for (const copy of copies) assert.match(copy, /millrace\.error\.class:UndecodableError,.*\tnot avro, sent at \d+$/);
  });
});
