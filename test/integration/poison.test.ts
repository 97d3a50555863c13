/**
 * Poison records in a live pipeline: bytes that are not Avro, an unknown schema id, a record the
 * transform rejects, and a value the databases refuse each land in a DLQ with the context headers,
 * while every neighbour flows to both databases.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startSink } from '../../connectors/sinks/index.ts';
import { readDlqContext } from '../../core/dlq.ts';
import { createKafka } from '../../core/kafka.ts';
import { Registry } from '../../core/schema-registry.ts';
import { dlqTopicOf } from '../../schemas/topic-spec.ts';
import { perRecord, runProcessor, type ProcessorSpec } from '../../processors/runtime/index.ts';
import type { Flight } from '../../testkit/helpers.ts';
import { manyFlights, produceFlights, readCommitted, sums, topicPair } from '../../testkit/processor-helpers.ts';
import {
  clickhouseHoldings,
  dropTables,
  postgresHoldings,
  sampleSinks,
  waitForRows,
} from '../../testkit/sink-helpers.ts';

class FlightRejectedError extends Error {
  override name = 'FlightRejectedError';
}

describe('poison records', () => {
  let table = '';
  after(() => dropTables(table));

  it('go to the DLQ with their reason and origin while their neighbours flow', async () => {
    const kafka = createKafka('millrace-test');
    const registry = new Registry();
    const { input, output } = await topicPair('poison', 2, 2);
    const sinks = await sampleSinks(output.name);
    table = sinks.table;

    const good = manyFlights(2000);
    const rejected = { ...good[0]!, id: 'poison-transform', distance: 0 };
    const refused = { ...good[1]!, id: 'poison-database', delay: 40_000 }; // Avro int, but smallint / Int16 in the tables
    const spec: ProcessorSpec<Flight, Flight> = {
      name: `test-poison-${input.name}`,
      input: input.name,
      output: output.name,
      transform: perRecord((record) => {
        if (record.value.distance <= 0)
          throw new FlightRejectedError(
            `flight ${record.value.id}: distance must be positive, got ${record.value.distance}`,
          );
        return [record.value];
      }),
    };
    const processor = await runProcessor(spec, { kafka, registry });
    const running = await Promise.all([
      startSink(sinks.clickhouse, { kafka, registry }),
      startSink(sinks.postgres, { kafka, registry }),
    ]);
    try {
      await produceFlights(kafka, registry, input.name, good.slice(0, 1000));
      const raw = kafka.producer();
      await raw.connect();
      await raw.send({
        topic: input.name,
        messages: [
          { key: 'not-avro', value: Buffer.from('{"id":"json, not Avro"}'), partition: 0 },
          { key: 'unknown-schema', value: Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 2, 4]), partition: 1 },
        ],
      });
      await raw.disconnect();
      await produceFlights(kafka, registry, input.name, [rejected, refused]);
      await produceFlights(kafka, registry, input.name, good.slice(1000));

      const expected = { rows: 2000, ids: 2000, ...sums(good) };
      assert.deepEqual(
        await waitForRows('ClickHouse', () => clickhouseHoldings(table), 2000),
        expected,
        'ClickHouse: every good flight, none of the poison',
      );
      assert.deepEqual(
        await waitForRows('Postgres', () => postgresHoldings(table), 2000),
        expected,
        'Postgres: every good flight, none of the poison',
      );
    } finally {
      await Promise.all([processor.stop(), ...running.map((s) => s.stop())]);
    }

    const inputDead = (await readCommitted(kafka, dlqTopicOf(input.name))).map((r) => ({
      key: r.key,
      ...readDlqContext(r.headers),
    }));
    assert.equal(inputDead.length, 3, 'three records fell out at the processor');
    const byKey = new Map(inputDead.map((d) => [d.key, d]));
    assert.equal(byKey.get('not-avro')?.errorClass, 'UndecodableError');
    assert.equal(byKey.get('unknown-schema')?.errorClass, 'UndecodableError');
    assert.match(byKey.get('unknown-schema')!.errorMessage, /schema/i);
    const transformDead = byKey.get('poison-transform')!;
    assert.equal(transformDead.errorClass, 'FlightRejectedError');
    assert.match(transformDead.errorMessage, /distance must be positive/);
    for (const dead of inputDead) {
      assert.equal(dead.stage, `processor.${spec.name}`);
      assert.equal(dead.sourceTopic, input.name);
      assert.ok(
        Number.isInteger(dead.sourcePartition) && /^\d+$/.test(dead.sourceOffset),
        'origin partition and offset',
      );
      assert.ok(!Number.isNaN(Date.parse(dead.timestamp)), 'timestamp');
    }

    const outputDead = (await readCommitted(kafka, dlqTopicOf(output.name))).map((r) => ({
      key: r.key,
      ...readDlqContext(r.headers),
    }));
    assert.equal(outputDead.length, 2, 'the refused flight, once per sink');
    const fromPostgres = outputDead.find((d) => d.stage === `sink.${sinks.postgres.name}`)!;
    const fromClickHouse = outputDead.find((d) => d.stage === `sink.${sinks.clickhouse.name}`)!;
    for (const dead of [fromPostgres, fromClickHouse]) {
      assert.equal(dead.key, 'poison-database');
      assert.equal(dead.errorClass, 'RowRefusedError');
      assert.equal(dead.sourceTopic, output.name);
    }
    assert.match(
      fromPostgres.errorMessage,
      /out of range for type smallint.*22003/,
      'Postgres says why, with its SQLSTATE',
    );
    assert.match(
      fromClickHouse.errorMessage,
      /column delay \(Int16\) cannot hold 40000/,
      'the ClickHouse sink names the column and type',
    );
  });
});
