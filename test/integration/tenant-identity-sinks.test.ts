/**
 * The sinks keep a record's identity as (tenant_id, id): one stream carrying every id under two
 * tenants, interleaved so the twins share batches, lands as two rows per id in Postgres and in
 * ClickHouse, and a replay of the whole stream (`millrace replay` from offset 0) adds none. A table
 * still keyed on id alone is refused before a row is written.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startSink } from '../../connectors/sinks/index.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { createKafka } from '../../core/kafka.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { flightTopic } from '../../testkit/helpers.ts';
import { manyFlights, produceFlights, replay, sums } from '../../testkit/processor-helpers.ts';
import {
  clickhouseHoldings,
  dropTables,
  postgresHoldings,
  sampleSinks,
  waitForRows,
} from '../../testkit/sink-helpers.ts';

/** Per tenant: rows and summed delay, FINAL in ClickHouse (what a query sees). */
async function perTenant(table: string): Promise<{ postgres: unknown[]; clickhouse: unknown[] }> {
  const pg = createPostgresPool(1);
  const ch = createClickHouse();
  try {
    const { rows } = await pg.query<{ tenant_id: string; rows: string; delay: string }>(
      `SELECT tenant_id, count(*) AS rows, sum(delay) AS delay FROM ${table} GROUP BY tenant_id ORDER BY tenant_id`,
    );
    const clickhouse = await (
      await ch.query({
        query: `SELECT tenant_id, count() AS rows, sum(delay) AS delay FROM ${table} FINAL GROUP BY tenant_id ORDER BY tenant_id`,
        format: 'JSONEachRow',
      })
    ).json<{ tenant_id: string; rows: string; delay: string }>();
    const figures = (r: { tenant_id: string; rows: string; delay: string }) => ({
      tenant_id: r.tenant_id,
      rows: Number(r.rows),
      delay: Number(r.delay),
    });
    return { postgres: rows.map(figures), clickhouse: clickhouse.map(figures) };
  } finally {
    await Promise.all([pg.end(), ch.close()]);
  }
}

describe('sinks: identity is (tenant_id, id)', () => {
  const tables: string[] = [];
  after(() => Promise.all(tables.map(dropTables)));
  const kafka = createKafka('millrace-test');
  const registry = new Registry();

  it('every id under two tenants is two rows in both databases, and a full replay adds none', async () => {
    const topic = await flightTopic('tenant_twins', 3);
    const sinks = await sampleSinks(topic.name, { batch: { maxRows: 500 } });
    tables.push(sinks.table);
    const ofA = manyFlights(3000).map((f) => ({ ...f, tenant_id: 'twin-a' }));
    // tenant b sends every id of a's, right after a's, each 1 minute more delayed
    const ofB = ofA.map((f) => ({ ...f, tenant_id: 'twin-b', delay: f.delay + 1 }));
    const sent = ofA.flatMap((f, i) => [f, ofB[i]!]);
    await produceFlights(kafka, registry, topic.name, sent);
    const expected = { rows: 6000, ids: 6000, ...sums(sent) };
    const tenants = [
      { tenant_id: 'twin-a', rows: 3000, delay: sums(ofA).delay },
      { tenant_id: 'twin-b', rows: 3000, delay: sums(ofB).delay },
    ];

    const live = await Promise.all([
      startSink(sinks.clickhouse, { kafka, registry }),
      startSink(sinks.postgres, { kafka, registry }),
    ]);
    try {
      await waitForRows('ClickHouse', () => clickhouseHoldings(sinks.table), 6000);
      await waitForRows('Postgres', () => postgresHoldings(sinks.table), 6000);
    } finally {
      await Promise.all(live.map((s) => s.stop()));
    }
    assert.deepEqual(await postgresHoldings(sinks.table), expected, 'Postgres: both twins of every id');
    assert.deepEqual(await perTenant(sinks.table), { postgres: tenants, clickhouse: tenants });

    for (const sink of ['samples-flights-postgres', 'samples-flights-clickhouse']) {
      const { stdout } = await replay('--sink', sink, '--topic', topic.name, '--table', sinks.table, '--from', '0');
      assert.match(
        stdout,
        sink.endsWith('postgres') ? /6000 in, 6000 out, 0 to the DLQ/ : /6000 in, 0 out, 0 to the DLQ/,
        sink,
      );
    }
    assert.deepEqual(await postgresHoldings(sinks.table), expected, 'Postgres after the replay');
    assert.deepEqual(await clickhouseHoldings(sinks.table), expected, 'ClickHouse after the replay, no row twice');
    assert.deepEqual(
      await perTenant(sinks.table),
      { postgres: tenants, clickhouse: tenants },
      'each twin kept its own',
    );
  });

  it('refuses a table keyed on id alone, naming the key it needs', async () => {
    const topic = await flightTopic('tenant_old_keys', 1);
    const sinks = await sampleSinks(topic.name);
    tables.push(sinks.table);
    const pg = createPostgresPool(1);
    const ch = createClickHouse();
    try {
      await pg.query(`ALTER TABLE ${sinks.table} DROP CONSTRAINT ${sinks.table}_pkey, ADD PRIMARY KEY (id)`);
      await ch.command({ query: `DROP TABLE ${sinks.table}` });
      await ch.command({
        query: `CREATE TABLE ${sinks.table} AS samples_flights ENGINE = ReplacingMergeTree(_offset) ORDER BY id`,
      });
      const [table] = await (
        await ch.query({
          query: `SELECT sorting_key FROM system.tables WHERE database = currentDatabase() AND name = ${quoteString(sinks.table)}`,
          format: 'JSONEachRow',
        })
      ).json<{ sorting_key: string }>();
      assert.equal(table?.sorting_key, 'id');
    } finally {
      await Promise.all([pg.end(), ch.close()]);
    }
    await assert.rejects(startSink(sinks.postgres, { kafka, registry }), /needs a unique index on \(tenant_id, id\)/);
    await assert.rejects(
      startSink(sinks.clickhouse, { kafka, registry }),
      /ORDER BY \(id\) must include the key column tenant_id/,
    );
  });
});
