/**
 * Roles as threads of one supervising process (core/supervisor.ts): killing one role ends only its
 * thread. The supervisor starts it again (counted in millrace_role_restarts_total) and it goes on
 * from its committed offsets, while another role in the same process keeps consuming throughout.
 * The two sinks of the sample flights (ClickHouse, Postgres), each on a topic and a table of its own.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { createKafka } from '../../core/kafka.ts';
import { metrics } from '../../core/metrics.ts';
import { Registry } from '../../core/schema-registry.ts';
import { restartLabels, supervise, type Role } from '../../core/supervisor.ts';
import { eventually, flights, flightTopic } from '../../testkit/helpers.ts';
import { produceFlights } from '../../testkit/processor-helpers.ts';
import {
  clickhouseHoldings,
  dropTables,
  postgresHoldings,
  sampleSinks,
  waitForRows,
} from '../../testkit/sink-helpers.ts';

const restarts = async (role: Role) => {
  const { role: r, name } = restartLabels(role);
  return (await metrics.roleRestarts.get()).values.find((v) => v.labels.role === r && v.labels.name === name)?.value;
};

describe('supervisor: roles as threads', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it(
    'restarts a killed role while another role of the same process keeps consuming',
    { timeout: 300_000 },
    async () => {
      const kafka = createKafka('millrace-test');
      const registry = new Registry();
      const [a, b] = await Promise.all([flightTopic('threads_a', 2), flightTopic('threads_b', 2)]);
      const [sinkA, sinkB] = await Promise.all([sampleSinks(a.name), sampleSinks(b.name)]);
      cleanup.push(
        () => dropTables(sinkA.table),
        () => dropTables(sinkB.table),
      );
      // restarts are labelled by the sink (args[1]): two different sinks keep the two counters apart
      const role = (sink: string, name: string, topic: string, table: string): Role => ({
        name,
        args: ['sink', sink, '--topic', topic, '--table', table, '--as', name, '--max-ms', '200'],
        env: { METRICS_PORT: '0', LOG_LEVEL: 'warn' },
      });
      const roleA = role('samples-flights-clickhouse', sinkA.clickhouse.name, a.name, sinkA.table);
      const roleB = role('samples-flights-postgres', sinkB.postgres.name, b.name, sinkB.table);
      const supervisor = supervise([roleA, roleB], pino({ level: 'silent' }));
      cleanup.push(() => supervisor.stop());
      const records = flights(600);

      await produceFlights(kafka, registry, a.name, records.slice(0, 200));
      await produceFlights(kafka, registry, b.name, records.slice(0, 200));
      await waitForRows('sink A', () => clickhouseHoldings(sinkA.table), 200);
      await waitForRows('sink B', () => postgresHoldings(sinkB.table), 200);
      const before = supervisor.threads();
      assert.notEqual(before[roleA.name], before[roleB.name], 'each role its own thread');

      assert.equal(await supervisor.kill(roleA.name), true);
      assert.equal(supervisor.threads()[roleA.name], undefined, 'A is gone until the supervisor starts it again');
      // B goes on consuming while A is down and restarting
      await produceFlights(kafka, registry, b.name, records.slice(200, 400));
      await waitForRows('sink B while A restarts', () => postgresHoldings(sinkB.table), 400);
      assert.equal(supervisor.threads()[roleB.name], before[roleB.name], 'B was never restarted');
      assert.equal(await restarts(roleB), 0);

      // A is started again, counted, and takes up where its committed offsets left it
      await eventually('A restarted', async () => ((await restarts(roleA)) === 1 ? true : undefined), 60_000);
      await produceFlights(kafka, registry, a.name, records.slice(200, 400));
      const held = await waitForRows('sink A after its restart', () => clickhouseHoldings(sinkA.table), 400);
      assert.equal(held.ids, 400, 'every record of A once');
      assert.notEqual(supervisor.threads()[roleA.name], before[roleA.name], 'A runs in a new thread');
      assert.equal(supervisor.threads()[roleB.name], before[roleB.name], 'B still runs in its first thread');
    },
  );
});
