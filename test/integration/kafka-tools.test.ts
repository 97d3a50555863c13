/**
 * `millrace kafka <tool>`: Kafka's own tools run against the local broker without being told where
 * it is: topics lists the catalogue, the console producer and consumer carry string keys and
 * values through a topic of their own, consumer-groups shows the group's committed offsets.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { cli } from '../../testkit/processor-helpers.ts';

const kafka = (args: string[], input?: string) => {
  const run = spawnSync(process.execPath, [cli, 'kafka', ...args], { input, encoding: 'utf8', timeout: 120_000 });
  return { ...run, out: `${run.stdout}${run.stderr}` };
};

const topic = `test.kafka_tools_${randomBytes(4).toString('hex')}`;

describe('millrace kafka', () => {
  after(() => kafka(['topics', '--delete', '--topic', topic]));

  it('topics --list shows the catalogue, on the configured broker', () => {
    const list = kafka(['topics', '--list']);
    assert.equal(list.status, 0, list.out);
    const topics = list.stdout.split('\n');
    for (const name of ['finance.statements.raw', 'finance.statements.raw.dlq', 'samples.flights.scored']) {
      assert.ok(topics.includes(name), `${name} listed:\n${list.stdout}`);
    }
  });

  it('the console producer and consumer carry keyed lines through a topic; consumer-groups shows the offsets', () => {
    const created = kafka(['topics', '--create', '--topic', topic, '--partitions', '1']);
    assert.equal(created.status, 0, created.out);
    const keyed = ['--property', 'parse.key=true', '--property', 'key.separator=|'];
    const produced = kafka(['console-producer', '--topic', topic, ...keyed], 'q-1|first line\nq-2|second line\n');
    assert.equal(produced.status, 0, produced.out);

    const group = `${topic}.reader`;
    const consumed = kafka([
      'console-consumer',
      ...['--topic', topic, '--group', group, '--from-beginning', '--max-messages', '2', '--timeout-ms', '60000'],
      ...['--property', 'print.key=true', '--property', 'key.separator=|'],
    ]);
    assert.equal(consumed.status, 0, consumed.out);
    assert.deepEqual(consumed.stdout.trim().split('\n'), ['q-1|first line', 'q-2|second line']);

    const groups = kafka(['consumer-groups', '--describe', '--group', group]);
    assert.equal(groups.status, 0, groups.out);
    assert.match(
      groups.stdout,
      new RegExp(`${group.replace(/\./g, '\\.')}\\s+${topic.replace(/\./g, '\\.')}\\s+0\\s+2\\s+2\\s+0`),
    );
  });

  it('an unknown tool is refused naming the known ones', () => {
    const unknown = kafka(['topic']);
    assert.equal(unknown.status, 2);
    assert.match(
      unknown.stderr,
      /unknown tool "topic"\n[\s\S]*tools: topics, console-producer, console-consumer, consumer-groups, transactions/,
    );
  });
});
