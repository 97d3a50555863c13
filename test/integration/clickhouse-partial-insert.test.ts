/**
 * A batch into a table partitioned by month is a part per month, and a crash can land some of them:
 * the ClickHouse sink, started again from Kafka's committed offset, writes only the rows the table
 * does not hold, so it ends with every flight once, counted without FINAL.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startSink } from '../../connectors/sinks/index.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { createKafka } from '../../core/kafka.ts';
import { Registry } from '../../core/schema-registry.ts';
import { flightTopic } from '../../testkit/helpers.ts';
import { manyFlights, produceFlights, sums } from '../../testkit/processor-helpers.ts';
import { clickhouseHoldings, dropTables, sampleSinks, waitForRows } from '../../testkit/sink-helpers.ts';

describe('ClickHouse sink into a partitioned table', () => {
  const tables: string[] = [];
  after(() => Promise.all(tables.map(dropTables)));

  it('completes a batch that landed in part, writing no row twice', { timeout: 120_000 }, async () => {
    const topic = await flightTopic('partial_insert', 1);
    const sinks = await sampleSinks(topic.name);
    tables.push(sinks.table);
    // six months, interleaved: every batch spans them all
    const sent = manyFlights(3000).map((f, i) => ({ ...f, event_time: Date.UTC(2025, i % 6, 15, 12) }));
    await produceFlights(createKafka('millrace-test'), new Registry(), topic.name, sent);

    const ch = createClickHouse();
    try {
      const [table] = await (
        await ch.query({
          query: `SELECT partition_key FROM system.tables WHERE database = currentDatabase() AND name = ${quoteString(sinks.table)}`,
          format: 'JSONEachRow',
        })
      ).json<{ partition_key: string }>();
      assert.equal(table?.partition_key, 'toYYYYMM(event_time)', 'the sink table is partitioned by month');
      // what a crashed insert left: the parts of January and March landed, the other months did not
      const landed = sent
        .map((f, offset) => ({ ...f, offset }))
        .filter((f) => [0, 2].includes(new Date(f.event_time).getUTCMonth()));
      await ch.insert({
        table: sinks.table,
        format: 'JSONEachRow',
        values: landed.map(({ offset, ...f }) => ({
          ...f,
          event_time: f.event_time / 1000,
          _topic: topic.name,
          _partition: 0,
          _offset: offset,
        })),
      });
      assert.equal((await clickhouseHoldings(sinks.table)).rows, 1000);
    } finally {
      await ch.close();
    }

    // nothing committed in Kafka: the sink reads the whole partition again
    const sink = await startSink(sinks.clickhouse, { kafka: createKafka('millrace-test'), registry: new Registry() });
    try {
      await waitForRows('ClickHouse', () => clickhouseHoldings(sinks.table), 3000);
      await new Promise((resolve) => setTimeout(resolve, 2000)); // room for a wrong extra write to land
    } finally {
      await sink.stop();
    }
    assert.deepEqual(await clickhouseHoldings(sinks.table), { rows: 3000, ids: 3000, ...sums(sent) });
  });
});
