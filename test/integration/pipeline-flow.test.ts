import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startSink } from '../../connectors/sinks/index.ts';
import { createKafka } from '../../core/kafka.ts';
import { metrics } from '../../core/metrics.ts';
import { Registry } from '../../core/schema-registry.ts';
import { passthrough } from '../../processors/passthrough/index.ts';
import { runProcessor } from '../../processors/runtime/index.ts';
import { manyFlights, produceFlights, sums, topicPair } from '../../testkit/processor-helpers.ts';
import {
  clickhouseHoldings,
  dropTables,
  postgresHoldings,
  sampleSinks,
  waitForRows,
} from '../../testkit/sink-helpers.ts';

const TOTAL = 100_000;

describe('pipeline: pass-through processor into both sinks', () => {
  let table = '';
  after(() => dropTables(table));

  it('carries 100,000 real flights into ClickHouse and Postgres exactly once', async () => {
    const kafka = createKafka('millrace-test');
    const registry = new Registry();
    const { input, output } = await topicPair('flow', 6, 4);
    const sinks = await sampleSinks(output.name, { batch: { maxRows: 5000, maxMs: 500 } });
    table = sinks.table;
    const sent = manyFlights(TOTAL);
    const expected = { rows: TOTAL, ids: TOTAL, ...sums(sent) };

    const processor = await runProcessor(passthrough({ input: input.name, output: output.name }), { kafka, registry });
    const toClickHouse = await startSink(sinks.clickhouse, { kafka, registry });
    const toPostgres = await startSink(sinks.postgres, { kafka, registry });
    try {
      await produceFlights(kafka, registry, input.name, sent, 5000);
      assert.deepEqual(
        await waitForRows('ClickHouse', () => clickhouseHoldings(table), TOTAL),
        expected,
        'ClickHouse: rows, distinct ids, sums',
      );
      assert.deepEqual(
        await waitForRows('Postgres', () => postgresHoldings(table), TOTAL),
        expected,
        'Postgres: rows, distinct ids, sums',
      );
    } finally {
      await Promise.all([processor.stop(), toClickHouse.stop(), toPostgres.stop()]);
    }

    const written = async (name: string) =>
      (await metrics.recordsOut.get()).values.find((v) => v.labels.role === 'sink' && v.labels.name === name)?.value;
    assert.equal(await written(sinks.clickhouse.name), TOTAL, 'metrics: rows written to ClickHouse');
    assert.equal(await written(sinks.postgres.name), TOTAL, 'metrics: rows written to Postgres');
  });
});
