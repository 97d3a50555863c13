/**
 * The crash test: while 100,000 flights flow, the processor and both sinks (each its own
 * `millrace` process) are killed with SIGKILL at random points and restarted, at least 5 times
 * each. At the end the output topic (read_committed), ClickHouse and Postgres hold every flight
 * exactly once.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createKafka } from '../../core/kafka.ts';
import { Registry } from '../../core/schema-registry.ts';
import { passthrough } from '../../processors/passthrough/index.ts';
import { processorGroupOf } from '../../processors/runtime/index.ts';
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
import {
  clickhouseHoldings,
  dropTables,
  postgresHoldings,
  sampleSinks,
  waitForRows,
} from '../../testkit/sink-helpers.ts';

const TOTAL = 100_000;
const KILLS = 5;
const SESSION_TIMEOUT_MS = '6000';

/** One role kept running: started again at once whenever it is killed. */
class Supervised {
  private current: MillraceProcess;
  kills = 0;

  constructor(private readonly args: string[]) {
    this.current = new MillraceProcess(args);
  }

  /** SIGKILL at a random point while it works (0.5 to 3 s after it got partitions), then a fresh process. */
  async killAndRestart(): Promise<void> {
    await this.current.waitForLog('partitions assigned', (line) => line.msg === 'partitions assigned', 120_000);
    await new Promise((r) => setTimeout(r, 500 + Math.random() * 2500));
    const { signal } = await this.current.kill('SIGKILL');
    assert.equal(signal, 'SIGKILL', `${this.args[0]} ${this.args[1]} died of SIGKILL`);
    this.kills++;
    this.current = new MillraceProcess(this.args);
  }

  stop(): Promise<unknown> {
    return this.current.kill('SIGTERM');
  }
}

describe('pipeline: SIGKILL at random points', () => {
  let table = '';
  after(() => dropTables(table));

  it(
    'loses and duplicates nothing while the processor and both sinks are killed 5 times each',
    { timeout: 600_000 },
    async () => {
      const kafka = createKafka('millrace-test');
      const registry = new Registry();
      const { input, output } = await topicPair('crash', 6, 4);
      const sinks = await sampleSinks(output.name);
      table = sinks.table;
      const spec = passthrough({ input: input.name, output: output.name });
      const sent = manyFlights(TOTAL);
      const expected = { rows: TOTAL, ids: TOTAL, ...sums(sent) };

      const sinkArgs = (base: string, name: string) => [
        'sink',
        base,
        '--topic',
        output.name,
        '--table',
        table,
        '--as',
        name,
        '--session-timeout-ms',
        SESSION_TIMEOUT_MS,
        '--max-rows',
        '2000',
      ];
      const roles = [
        new Supervised([
          'processor',
          'passthrough',
          '--input',
          input.name,
          '--output',
          output.name,
          '--session-timeout-ms',
          SESSION_TIMEOUT_MS,
        ]),
        new Supervised(sinkArgs('samples-flights-clickhouse', sinks.clickhouse.name)),
        new Supervised(sinkArgs('samples-flights-postgres', sinks.postgres.name)),
      ];
      try {
        // the stream keeps flowing (about 45 s) while every role is killed again and again
        let produced = false;
        const producing = produceFlights(kafka, registry, input.name, sent, 1000, 400).then(() => (produced = true));
        await Promise.all(
          roles.map(async (role) => {
            while (role.kills < KILLS) await role.killAndRestart();
          }),
        );
        const killedMidStream = !produced;
        await producing;
        assert.ok(killedMidStream, 'every role was killed 5 times before the producer finished');

        await waitForCommitted(kafka, processorGroupOf(spec.name), input.name, TOTAL, 240_000);
        assert.deepEqual(
          await waitForRows('ClickHouse', () => clickhouseHoldings(table), TOTAL, 240_000),
          expected,
          'ClickHouse: every flight once',
        );
        assert.deepEqual(
          await waitForRows('Postgres', () => postgresHoldings(table), TOTAL, 240_000),
          expected,
          'Postgres: every flight once',
        );
      } finally {
        await Promise.all(roles.map((role) => role.stop()));
      }
      for (const role of roles) assert.ok(role.kills >= KILLS, `killed at least ${KILLS} times`);

      const read = await decodeFlights(registry, await readCommitted(kafka, output.name));
      assert.equal(read.length, TOTAL, 'output topic under read_committed: exactly as many records as sent');
      assert.equal(new Set(read.map((r) => r.flight.id)).size, TOTAL, 'output topic: every id once');
      assert.deepEqual(sums(read.map((r) => r.flight)), sums(sent), 'output topic: sums match');
      // settled: nothing arrives late
      assert.deepEqual(await clickhouseHoldings(table), expected, 'ClickHouse still exact after the sinks stopped');
      assert.deepEqual(await postgresHoldings(table), expected, 'Postgres still exact after the sinks stopped');
    },
  );
});
