/**
 * A new owner whose fetch position is two transactions behind the offset the previous owner
 * committed (kafkajs read the position when the partition was assigned; the previous owner committed
 * twice more before the new owner's fence). The new owner fetches those two transactions' inputs
 * again, one record batch per fetch, and must skip both: the first batch skipped whole must not
 * lower the floor the committed offset set (it did, and the second transaction's records were
 * processed twice; the 1M cluster chaos run found 2 such records).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { Registry } from '../../core/schema-registry.ts';
import { passthrough, type AnyRecord } from '../../processors/passthrough/index.ts';
import { processorGroupOf, runProcessor } from '../../processors/runtime/index.ts';
import { processorBatch } from '../../processors/runtime/batch.ts';
import type { ProcessorContext } from '../../processors/runtime/context.ts';
import { OutputEncoders } from '../../processors/runtime/output-encoders.ts';
import { PartitionOwners } from '../../processors/runtime/owners.ts';
import {
  decodeFlights,
  manyFlights,
  produceFlights,
  readCommitted,
  topicPair,
  waitForCommitted,
} from '../../testkit/processor-helpers.ts';

const SEND = 10; // records per send: one record batch each

describe('processor: a new owner fetching from a stale position', () => {
  it('skips every record the previous owner committed, however many batches behind it starts', async () => {
    const kafka = createKafka('millrace-test');
    const registry = new Registry();
    const { input, output } = await topicPair('stale', 1, 1);
    const spec = passthrough({ input: input.name, output: output.name });
    const sent = manyFlights(3 * SEND);

    // the previous owner: the real runtime commits the first two sends (two record batches)
    await produceFlights(kafka, registry, input.name, sent.slice(0, 2 * SEND), SEND);
    const previous = await runProcessor(spec, { kafka, registry });
    try {
      await waitForCommitted(kafka, processorGroupOf(spec.name), input.name, 2 * SEND);
    } finally {
      await previous.stop();
    }
    await produceFlights(kafka, registry, input.name, sent.slice(2 * SEND), SEND);

    // the new owner's batches come from a consumer positioned at offset 0, a fetch per record batch
    const ctx = await newOwnerContext(kafka, registry, spec);
    const fetcher = kafka.consumer({ groupId: `test-stale-${randomUUID()}`, maxBytesPerPartition: 1 });
    const batches: string[] = [];
    try {
      await fetcher.connect();
      await fetcher.subscribe({ topic: input.name, fromBeginning: true });
      let fed = false;
      await fetcher.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async (payload) => {
          batches.push(`${payload.batch.firstOffset()}..${payload.batch.lastOffset()}`);
          await processorBatch(ctx, payload);
          if (BigInt(payload.batch.lastOffset()) >= BigInt(3 * SEND - 1)) fed = true;
        },
      });
      for (let waited = 0; !fed; waited += 100) {
        assert.ok(waited < 60_000, `the new owner to reach the end of the input (batches: ${batches.join(', ')})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await fetcher.disconnect();
      await ctx.owners.close();
      await ctx.admin.disconnect();
    }

    assert.deepEqual(batches.slice(0, 2), ['0..9', '10..19'], 'the new owner fetched both committed sends again');
    const read = await decodeFlights(registry, await readCommitted(kafka, output.name));
    const ids = read.map((r) => r.flight.id);
    assert.equal(new Set(ids).size, 3 * SEND, 'every record reached the output');
    assert.equal(ids.length, 3 * SEND, 'and none of them twice');
  });
});

/** What `runProcessor` gives a batch, for a new owner whose batches the test feeds. */
async function newOwnerContext(
  kafka: ReturnType<typeof createKafka>,
  registry: Registry,
  spec: ReturnType<typeof passthrough>,
): Promise<ProcessorContext<AnyRecord, AnyRecord>> {
  const log = createLogger('processor', { processor: spec.name });
  const admin = kafka.admin();
  await admin.connect();
  return {
    spec,
    kafka,
    registry,
    encoders: new OutputEncoders(registry),
    log,
    groupId: processorGroupOf(spec.name),
    consumer: kafka.consumer({ groupId: processorGroupOf(spec.name) }), // used by replays only
    admin,
    owners: new PartitionOwners(kafka, spec.name, 60_000, log),
    replayed: new Map(),
    checkReplayDone: () => {},
    stage: `processor.${spec.name}`,
    labels: { role: 'processor', name: spec.name },
    outputs: new Set([spec.output]),
    sought: new Set(),
  };
}
