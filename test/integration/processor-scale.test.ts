/**
 * Scale-out: two `millrace processor` processes share one consumer group; one is killed with
 * SIGKILL mid-stream, the other takes over its partitions, and the output still holds every
 * record exactly once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKafka } from '../../core/kafka.ts';
import { Registry } from '../../core/schema-registry.ts';
import { passthrough } from '../../processors/passthrough/index.ts';
import { processorGroupOf } from '../../processors/runtime/index.ts';
import { eventually } from '../../testkit/helpers.ts';
import {
  decodeFlights,
  manyFlights,
  MillraceProcess,
  produceFlights,
  readCommitted,
  sums,
  topicPair,
  waitForCommitted,
} from '../../testkit/processor-helpers.ts';

const TOTAL = 100_000;

describe('processor scale-out', () => {
  it(
    'two instances split the partitions; when one is killed the other takes them and nothing is lost or doubled',
    { timeout: 400_000 },
    async () => {
      const kafka = createKafka('millrace-test');
      const registry = new Registry();
      const { input, output } = await topicPair('scale', 6, 4);
      const spec = passthrough({ input: input.name, output: output.name });
      const sent = manyFlights(TOTAL);
      const args = [
        'processor',
        'passthrough',
        '--input',
        input.name,
        '--output',
        output.name,
        '--session-timeout-ms',
        '6000',
      ];
      const a = new MillraceProcess(args);
      const b = new MillraceProcess(args);
      try {
        const split = () =>
          a.assigned.length > 0 && b.assigned.length > 0 && a.assigned.length + b.assigned.length === 6
            ? true
            : undefined;
        await eventually('both instances to hold partitions', split, 120_000);
        const [aHeld, bHeld] = [a.assigned, b.assigned];
        assert.equal(new Set([...aHeld, ...bHeld]).size, 6, 'the six partitions split between the two, none shared');

        let produced = false;
        const producing = produceFlights(kafka, registry, input.name, sent, 1000, 200).then(() => (produced = true));
        await new Promise((r) => setTimeout(r, 4000));
        await b.kill('SIGKILL');
        assert.ok(!produced, 'killed while records flow');
        await eventually(
          'the survivor to hold all six partitions',
          () => (a.assigned.length === 6 ? true : undefined),
          120_000,
        );
        await producing;
        await waitForCommitted(kafka, processorGroupOf(spec.name), input.name, TOTAL, 240_000);
      } finally {
        await Promise.all(
          [a, b].map((p) => (p.child.exitCode === null && p.child.signalCode === null ? p.kill('SIGTERM') : undefined)),
        );
      }

      const read = await decodeFlights(registry, await readCommitted(kafka, output.name));
      assert.equal(read.length, TOTAL, 'exactly as many records as sent');
      assert.equal(new Set(read.map((r) => r.flight.id)).size, TOTAL, 'every id once');
      assert.deepEqual(sums(read.map((r) => r.flight)), sums(sent), 'sums match');
    },
  );
});
