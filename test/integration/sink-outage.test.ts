/**
 * The outage test: ClickHouse, then Postgres, is stopped for 20 s while flights flow. The sink of
 * the stopped database pauses, retries with back-off and logs each retry; the other keeps
 * writing; when the server returns, everything arrives exactly once.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { startSink } from '../../connectors/sinks/index.ts';
import { createKafka } from '../../core/kafka.ts';
import { metrics } from '../../core/metrics.ts';
import { Registry } from '../../core/schema-registry.ts';
import { startService, stopService } from '../../infra/index.ts';
import { manyFlights, produceFlights, sums } from '../../testkit/processor-helpers.ts';
import { flightTopic } from '../../testkit/helpers.ts';
import {
  clickhouseHoldings,
  dropTables,
  postgresHoldings,
  sampleSinks,
  waitForRows,
  type Holdings,
} from '../../testkit/sink-helpers.ts';

const TOTAL = 100_000;
const OUTAGE_MS = 20_000;

/** infra never stops the machine's Postgres; this test does, the way its operator would. */
async function stopMachinePostgres(): Promise<void> {
  const version = readdirSync('/etc/postgresql').sort((a, b) => Number(b) - Number(a))[0]!;
  await promisify(execFile)('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'stop', '-m', 'fast']);
}

const retriesOf = async (name: string) =>
  (await metrics.retries.get()).values.find((v) => v.labels.name === name)?.value ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sinks: a database outage', () => {
  let table = '';
  after(async () => {
    await startService('clickhouse');
    await startService('postgres');
    await dropTables(table);
  });

  it(
    'pauses, retries and then delivers every row once when ClickHouse and Postgres each go away for 20 s',
    { timeout: 400_000 },
    async () => {
      const kafka = createKafka('millrace-test');
      const registry = new Registry();
      const topic = await flightTopic('outage', 4);
      const sinks = await sampleSinks(topic.name, {
        retry: { initialMs: 200, maxMs: 2_000 },
        batch: { maxRows: 2000, maxMs: 200 },
      });
      table = sinks.table;
      const sent = manyFlights(TOTAL);
      const expected = { rows: TOTAL, ids: TOTAL, ...sums(sent) };
      const third = Math.floor(TOTAL / 3);

      const toClickHouse = await startSink(sinks.clickhouse, { kafka, registry });
      const toPostgres = await startSink(sinks.postgres, { kafka, registry });
      try {
        await produceFlights(kafka, registry, topic.name, sent.slice(0, third));
        await waitForRows('ClickHouse', () => clickhouseHoldings(table), third);

        // ClickHouse away: its sink waits, the Postgres sink goes on
        await stopService('clickhouse');
        await produceFlights(kafka, registry, topic.name, sent.slice(third, 2 * third));
        await sleep(OUTAGE_MS);
        assert.ok(
          (await retriesOf(sinks.clickhouse.name)) >= 3,
          'the ClickHouse sink retried while ClickHouse was down',
        );
        assert.equal((await postgresHoldings(table)).rows, 2 * third, 'the Postgres sink wrote everything meanwhile');
        await startService('clickhouse');
        await waitForRows('ClickHouse', () => clickhouseHoldings(table), 2 * third);

        // Postgres away: the same the other way round
        await stopMachinePostgres();
        await produceFlights(kafka, registry, topic.name, sent.slice(2 * third));
        await sleep(OUTAGE_MS);
        assert.ok((await retriesOf(sinks.postgres.name)) >= 3, 'the Postgres sink retried while Postgres was down');
        assert.equal((await clickhouseHoldings(table)).rows, TOTAL, 'the ClickHouse sink wrote everything meanwhile');
        await startService('postgres');

        const settled: Holdings = await waitForRows('Postgres', () => postgresHoldings(table), TOTAL);
        assert.deepEqual(settled, expected, 'Postgres: every flight once');
        assert.deepEqual(await clickhouseHoldings(table), expected, 'ClickHouse: every flight once');
      } finally {
        await Promise.all([toClickHouse.stop(), toPostgres.stop()]);
      }
    },
  );
});
