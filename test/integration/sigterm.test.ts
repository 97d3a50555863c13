import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createKafka } from '../../core/kafka.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { flights, flightTopic } from '../../testkit/helpers.ts';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'millrace.js');

/** Runs `millrace consume` until it has printed `stopAfter` lines (then SIGTERM) or `until` lines. */
function consumeRun(
  topic: string,
  group: string,
  opts: { stopAfter?: number; until?: number },
): Promise<{ ids: string[]; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'consume', '--topic', topic, '--group', group, '--from-beginning'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ids: string[] = [];
    let buffered = '';
    let signalled = false;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) ids.push((JSON.parse(line) as { value: { id: string } }).value.id);
      const limit = opts.stopAfter ?? opts.until ?? Infinity;
      if (!signalled && ids.length >= limit) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`consume did not finish in time; ${ids.length} lines; stderr: ${stderr.slice(-2000)}`));
    }, 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ ids, code });
    });
  });
}

describe('SIGTERM mid-stream', () => {
  it('the consumer finishes its batch, commits, exits 0, and a restart resumes with nothing lost or repeated', async () => {
    const topic = await flightTopic('sigterm', 6);
    const producer = new AvroProducer(createKafka('millrace-test'), new Registry());
    await producer.connect();
    const sent = flights(10_000);
    try {
      for (let i = 0; i < sent.length; i += 1000)
        await producer.send(
          topic.name,
          sent.slice(i, i + 1000).map((value) => ({ value })),
        );
    } finally {
      await producer.disconnect();
    }
    const group = `test-sigterm-${topic.name}`;

    const first = await consumeRun(topic.name, group, { stopAfter: 1500 });
    assert.equal(first.code, 0, 'graceful exit');
    assert.ok(
      first.ids.length >= 1500 && first.ids.length < sent.length,
      `stopped mid-stream after ${first.ids.length}`,
    );

    const second = await consumeRun(topic.name, group, { until: sent.length - first.ids.length });
    assert.equal(second.code, 0);

    const all = [...first.ids, ...second.ids];
    assert.equal(new Set(all).size, all.length, 'no record delivered twice');
    assert.deepEqual(new Set(all), new Set(sent.map((f) => f.id)), 'no record lost');
  });
});
