/**
 * `millrace replay` end to end (the CLI as a process): a sink re-run over the log restores rows a
 * table lost and stores no row twice (ClickHouse counted without FINAL or a merge); a processor re-run from a time re-produces exactly the
 * records from that time on.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startSink } from '../../connectors/sinks/index.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import {
  replay,
  decodeFlights,
  manyFlights,
  produceFlights,
  readCommitted,
  sums,
} from '../../testkit/processor-helpers.ts';
import { eventually, flightTopic } from '../../testkit/helpers.ts';
import {
  clickhouseHoldings,
  dropTables,
  postgresHoldings,
  sampleSinks,
  waitForRows,
} from '../../testkit/sink-helpers.ts';

describe('millrace replay', () => {
  const tables: string[] = [];
  after(() => Promise.all(tables.map(dropTables)));
  const kafka = createKafka('millrace-test');
  const registry = new Registry();

  it('re-runs a sink from an offset: lost rows come back, none twice', async () => {
    const topic = await flightTopic('replay_sink', 3);
    const sinks = await sampleSinks(topic.name);
    tables.push(sinks.table);
    const sent = manyFlights(5000);
    const expected = { rows: 5000, ids: 5000, ...sums(sent) };
    await produceFlights(kafka, registry, topic.name, sent);
    const live = await Promise.all([
      startSink(sinks.clickhouse, { kafka, registry }),
      startSink(sinks.postgres, { kafka, registry }),
    ]);
    try {
      await waitForRows('ClickHouse', () => clickhouseHoldings(sinks.table), 5000);
      await waitForRows('Postgres', () => postgresHoldings(sinks.table), 5000);
    } finally {
      await Promise.all(live.map((s) => s.stop()));
    }

    const pg = createPostgresPool(1);
    const lost = await pg.query(`DELETE FROM ${sinks.table} WHERE source_offset >= 100`).finally(() => pg.end());
    assert.ok((lost.rowCount ?? 0) > 4000, 'rows deleted from Postgres');

    const toPostgres = await replay(
      '--sink',
      'samples-flights-postgres',
      '--topic',
      topic.name,
      '--table',
      sinks.table,
      '--from',
      '100',
    );
    assert.match(toPostgres.stdout, /replayed .*: \d+ in, \d+ out, 0 to the DLQ/);
    assert.deepEqual(await postgresHoldings(sinks.table), expected, 'Postgres: every flight back, once');

    // ClickHouse loses the rows from offset 100 on (a mutation, carried out in the background)
    const ch = createClickHouse();
    try {
      await ch.command({ query: `ALTER TABLE ${sinks.table} DELETE WHERE _offset >= 100` });
      await eventually('the delete carried out', async () => {
        const [row] = await (
          await ch.query({
            query: `SELECT count() AS n FROM system.mutations WHERE table = '${sinks.table}' AND is_done = 0`,
            format: 'JSONEachRow',
          })
        ).json<{ n: string }>();
        return row!.n === '0' ? true : undefined;
      });
    } finally {
      await ch.close();
    }
    const kept = (await clickhouseHoldings(sinks.table)).rows;
    assert.ok(kept < 1000, `rows deleted from ClickHouse (${kept} kept)`);

    const toClickHouse = await replay(
      '--sink',
      'samples-flights-clickhouse',
      '--topic',
      topic.name,
      '--table',
      sinks.table,
      '--from',
      '0',
    );
    // every record read again, only the missing ones written: no read needs FINAL or a merge
    assert.match(toClickHouse.stdout, new RegExp(`5000 in, ${5000 - kept} out`));
    assert.deepEqual(await clickhouseHoldings(sinks.table), expected, 'ClickHouse: every flight back, once, unmerged');
  });

  it('re-runs a processor from a time: exactly the records from then on are produced again', async () => {
    const input = await flightTopic('replay_in', 3);
    const output = await flightTopic('replay_out', 3);
    const [before, since] = [manyFlights(2000).slice(0, 1000), manyFlights(2000).slice(1000)];
    await produceFlights(kafka, registry, input.name, before);
    await new Promise((r) => setTimeout(r, 1500)); // Kafka timestamps are milliseconds: leave a clear gap
    const from = new Date(Date.now() - 500).toISOString();
    await produceFlights(kafka, registry, input.name, since);

    const run = await replay(
      '--processor',
      'passthrough',
      '--topic',
      input.name,
      '--output',
      output.name,
      '--from',
      from,
    );
    assert.match(run.stdout, /1000 in, 1000 out/);
    const read = await decodeFlights(registry, await readCommitted(kafka, output.name));
    assert.deepEqual(
      read.map((r) => r.flight.id).sort(),
      since.map((f) => f.id).sort(),
      'the records produced since the time, each once',
    );
  });

  it('says what is wrong with --from', async () => {
    const topic = await flightTopic('replay_bad', 1);
    await assert.rejects(
      replay('--sink', 'samples-flights-postgres', '--topic', topic.name, '--from', 'yesterday-ish'),
      /neither an offset nor a time/,
    );
  });
});
