/**
 * A third-party client works unchanged: Confluent's Python client as Debian ships it
 * (test/fixtures/confluent_client.py, installed through infra/python-clients.ts) produces
 * statements to the ingestion topic finance.statements.raw with auto-register on and off, the
 * finance pipeline scores them (in-process, on the catalogue's topics), and the same client reads
 * finance.statements.scored: every statement lands once, its score decodes, and the platform's
 * subject has no new version. A schema of another shape, auto-registered, is refused naming the
 * subject, and nothing is written.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { topicByName } from '../../core/catalogue.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { Registry } from '../../core/schema-registry.ts';
import { ensurePythonKafkaClients } from '../../infra/python-clients.ts';
import { financeScoring } from '../../processors/finance/index.ts';
import { runProcessor, type RunningProcessor } from '../../processors/runtime/index.ts';
import { statements } from '../../testkit/finance-statements.ts';
import { fixtures } from '../../testkit/helpers.ts';

const config = loadConfig();
const script = path.join(fixtures, 'confluent_client.py');
const raw = topicByName('finance.statements.raw');
const scored = topicByName('finance.statements.scored');
const run = randomBytes(4).toString('hex');
const tenant = `py-${run}`;
const scratch = mkdtempSync(path.join(tmpdir(), 'confluent-client-'));

let python = '';
let processor: RunningProcessor | undefined;
const scoring = financeScoring();

/** Runs the client; resolves with its exit code and output (it never throws on a non-zero exit). */
function client(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(python, [script, ...args], {
    env: {
      ...process.env,
      KAFKA_BROKERS: config.KAFKA_BROKERS.join(','),
      SCHEMA_REGISTRY_URL: config.SCHEMA_REGISTRY_URL,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const jsonLines = (records: readonly object[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

async function versions(subject: string): Promise<number[]> {
  const response = await fetch(`${config.SCHEMA_REGISTRY_URL}/subjects/${encodeURIComponent(subject)}/versions`);
  assert.equal(response.status, 200);
  return (await response.json()) as number[];
}

before(async () => {
  python = await ensurePythonKafkaClients();
  // the pipeline, in-process, on the catalogue's topics
  processor = await runProcessor(scoring, { kafka: createKafka('millrace-test'), registry: new Registry() });
  await processor.joined;
});

after(async () => {
  await processor?.stop();
  await scoring.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a Confluent client (python3-confluent-kafka, Debian)', () => {
  const autoOn = statements(`py-on-${run}`, 40, tenant);
  const autoOff = statements(`py-off-${run}`, 40, tenant);
  let before: number[] = [];
  let registeredId = 0;

  it(
    'produces with auto-register on and off: both get the registered schema id, no new version appears',
    { timeout: 120_000 },
    async () => {
      before = await versions(raw.subject);
      registeredId = await new Registry().latestId(raw.subject);
      const schema = path.join(config.repoRoot, 'schemas', raw.schema);
      for (const [mode, records] of [
        ['on', autoOn],
        ['off', autoOff],
      ] as const) {
        const sent = await client(
          ['produce', raw.name, '--schema', schema, '--auto-register', mode],
          jsonLines(records),
        );
        assert.equal(sent.code, 0, sent.stderr);
        assert.deepEqual(JSON.parse(sent.stdout), { produced: 40, schema_id: registeredId }, `auto-register ${mode}`);
      }
      assert.deepEqual(await versions(raw.subject), before);
    },
  );

  it('auto-registering a schema of another shape is refused naming the subject; nothing is written', async () => {
    // an unguarded registry (started before infra/registry-guard.ts) would take it as a new version: stop here
    const unchanged = await fetch(`${config.SCHEMA_REGISTRY_URL}/config/${raw.subject}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ compatibility: 'BACKWARD' }),
    });
    assert.equal(unchanged.status, 422, 'the registry runs behind its guard (if not: infra down registry, infra up)');
    const schema = path.join(config.repoRoot, 'schemas', raw.schema);
    const other = statements(`py-other-${run}`, 3, tenant);
    const sent = await client(
      ['produce', raw.name, '--schema', schema, '--auto-register', 'on', '--extra-field'],
      jsonLines(other),
    );
    assert.equal(sent.code, 3, `${sent.stdout}${sent.stderr}`);
    assert.match(sent.stderr, /registry refused: .*422.*42205/);
    assert.match(sent.stderr, /subject finance\.statements\.raw-value is read-only: .*millrace provision/);
    assert.deepEqual(await versions(raw.subject), before);
    assert.equal(await new Registry().latestId(raw.subject), registeredId);
  });

  it(
    'reads the scored topic: every statement scored once, string keys, values decoded',
    { timeout: 180_000 },
    async () => {
      const sent = [...autoOn, ...autoOff];
      const ids = path.join(scratch, 'ids');
      writeFileSync(ids, sent.map((s) => s.id).join('\n'));
      const read = await client(['consume', scored.name, '--group', `py-reader-${run}`, '--ids', ids]);
      assert.equal(read.code, 0, read.stderr);
      const records = read.stdout
        .trim()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as {
              key: string;
              schema_id: number;
              value: { id: string; tenant_id: string; probability: number; period: number; event_time: number };
            },
        );
      assert.deepEqual(records.map((r) => r.value.id).sort(), sent.map((s) => s.id).sort(), 'each statement once');
      const scoredId = await new Registry().latestId(scored.subject);
      const byId = new Map(sent.map((s) => [s.id, s]));
      for (const { key, schema_id, value } of records) {
        const statement = byId.get(value.id)!;
        assert.equal(key, value.id);
        assert.equal(schema_id, scoredId);
        assert.equal(value.tenant_id, tenant);
        assert.equal(value.event_time, statement.event_time);
        assert.equal(value.period, statement.period_end);
        assert.ok(value.probability > 0 && value.probability < 1, `${value.id}: probability ${value.probability}`);
      }
    },
  );
});
