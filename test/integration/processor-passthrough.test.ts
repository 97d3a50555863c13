import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKafka } from '../../core/kafka.ts';
import { metrics } from '../../core/metrics.ts';
import { Registry } from '../../core/schema-registry.ts';
import { passthrough } from '../../processors/passthrough/index.ts';
import { processorGroupOf, runProcessor } from '../../processors/runtime/index.ts';
import {
  decodeFlights,
  manyFlights,
  produceFlights,
  readCommitted,
  sums,
  topicPair,
  waitForCommitted,
} from '../../testkit/processor-helpers.ts';

const TOTAL = 100_000;

describe('processor runtime: pass-through', () => {
  it('carries 100,000 real flights exactly once, values unchanged, with lineage', async () => {
    const kafka = createKafka('millrace-test');
    const registry = new Registry();
    const { input, output } = await topicPair('pt', 6, 4);
    const spec = passthrough({ input: input.name, output: output.name });
    const sent = manyFlights(TOTAL);

    const processor = await runProcessor(spec, { kafka, registry });
    try {
      await processor.joined;
      // the stream flows while the processor runs
      await produceFlights(kafka, registry, input.name, sent, 5000);
      await waitForCommitted(kafka, processorGroupOf(spec.name), input.name, TOTAL);
    } finally {
      await processor.stop();
    }

    const read = await decodeFlights(registry, await readCommitted(kafka, output.name));
    assert.equal(read.length, TOTAL, 'exactly as many records as were sent');
    const byId = new Map(read.map((r) => [r.flight.id, r]));
    assert.equal(byId.size, TOTAL, 'every id once');
    for (const f of sent) assert.deepEqual({ ...byId.get(f.id)?.flight }, f, `flight ${f.id} unchanged`);
    assert.deepEqual(sums(read.map((r) => r.flight)), sums(sent), 'sums of distance and delay match');

    for (const r of read) {
      assert.equal(r.key, r.flight.id, 'keyed by id');
      assert.equal(r.source.topic, input.name, 'lineage: source topic');
    }
    const origins = new Set(read.map((r) => `${r.source.partition}:${r.source.offset}`));
    assert.equal(origins.size, TOTAL, 'lineage: every output names a distinct input record');

    const counted = async (counter: typeof metrics.recordsIn) =>
      (await counter.get()).values.find((v) => v.labels.role === 'processor' && v.labels.name === spec.name)?.value;
    assert.equal(await counted(metrics.recordsIn), TOTAL, 'metrics: records in');
    assert.equal(await counted(metrics.recordsOut), TOTAL, 'metrics: records out');
  });
});
