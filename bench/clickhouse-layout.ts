/**
 * One tenant's dashboard queries against ClickHouse directly, on the flights table in the layout it
 * had before issue 18 (ReplacingMergeTree sorted by id alone, unpartitioned, read with FINAL) and in
 * today's (sql/clickhouse/0009: partitioned by month, sorted tenant_id, event_time, id, read without
 * FINAL), both holding the same rows: the 10,000 real flights of vega-datasets copied under TENANTS
 * tenants and shifted by 13 weeks per copy, COPIES copies in all (1,000 copies: 10,000,000 rows).
 * Prints each query's latency (median, min, max of RUNS runs) per layout.
 * Run (ClickHouse up): node --import tsx bench/clickhouse-layout.ts [copies] [tenants] [runs]
 */
import { performance } from 'node:perf_hooks';
import { createClickHouse } from '../core/clickhouse.ts';
import { flights } from '../testkit/helpers.ts';

const COPIES = Number(process.argv[2] ?? 1000);
const TENANTS = Number(process.argv[3] ?? 30);
const RUNS = Number(process.argv[4] ?? 7);
const DATABASE = 'millrace_bench_layout';
const COLUMNS = `id String, tenant_id String, event_time DateTime, origin String, destination String, distance UInt32,
  delay Int16, _topic String, _partition UInt32, _offset UInt64`;
const LAYOUTS = {
  before: { engine: 'ReplacingMergeTree(_offset) ORDER BY id', final: 'FINAL' },
  after: {
    engine: 'ReplacingMergeTree(_offset) PARTITION BY toYYYYMM(event_time) ORDER BY (tenant_id, event_time, id)',
    final: '',
  },
} as const;

const tenant = 't7';
/** What a dashboard asks: the analytics API's SQL shapes (api/analytics/query.ts), for one tenant. */
const QUERIES: Record<string, (from: string) => string> = {
  'weekly count, mean and p90 delay, all time': (from) =>
    `SELECT toMonday(event_time) AS bucket, count() AS flights, avg(delay) AS mean_delay, quantileExact(0.9)(delay) AS p90
       FROM ${from} WHERE tenant_id = '${tenant}' GROUP BY bucket ORDER BY bucket`,
  'daily flights by origin, one quarter': (from) =>
    `SELECT toStartOfDay(event_time) AS bucket, origin, count() AS flights, sum(distance) AS miles
       FROM ${from} WHERE tenant_id = '${tenant}' AND event_time >= toDateTime('2004-01-01 00:00:00') AND event_time < toDateTime('2004-04-01 00:00:00')
      GROUP BY bucket, origin ORDER BY bucket, origin`,
  'monthly max delay by origin and destination, ORD only': (from) =>
    `SELECT toStartOfMonth(event_time) AS bucket, origin, destination, max(delay) AS max_delay
       FROM ${from} WHERE tenant_id = '${tenant}' AND origin = 'ORD' GROUP BY bucket, origin, destination ORDER BY bucket, origin, destination`,
};

async function main(): Promise<void> {
  const server = createClickHouse('default');
  await server.command({ query: `CREATE DATABASE IF NOT EXISTS ${DATABASE}` });
  await server.close();
  const ch = createClickHouse(DATABASE);
  try {
    await ch.command({ query: 'DROP TABLE IF EXISTS seed' });
    await ch.command({ query: `CREATE TABLE seed (${COLUMNS}) ENGINE = Memory` });
    await ch.insert({
      table: 'seed',
      format: 'JSONEachRow',
      values: flights().map((f, i) => ({
        ...f,
        tenant_id: '',
        event_time: f.event_time / 1000,
        _topic: 'samples.flights.raw',
        _partition: 0,
        _offset: i,
      })),
    });
    for (const [name, layout] of Object.entries(LAYOUTS)) {
      const started = performance.now();
      await ch.command({ query: `DROP TABLE IF EXISTS flights_${name}` });
      await ch.command({ query: `CREATE TABLE flights_${name} (${COLUMNS}) ENGINE = ${layout.engine}` });
      // copy n: tenant t<n mod TENANTS>, shifted 13 weeks per round of tenants, offsets unique per copy
      for (let first = 0; first < COPIES; first += TENANTS) {
        const count = Math.min(TENANTS, COPIES - first);
        await ch.command({
          query: `INSERT INTO flights_${name}
            SELECT concat(id, '-', toString(n)), concat('t', toString(n % ${TENANTS})), event_time + intDiv(n, ${TENANTS}) * ${13 * 7 * 86_400},
                   origin, destination, distance, delay, _topic, _partition, n * 10000 + _offset
              FROM seed ARRAY JOIN arrayMap(k -> k + ${first}, range(${count})) AS n`,
        });
      }
      await ch.command({ query: `OPTIMIZE TABLE flights_${name}` }).catch(() => undefined);
      const [row] = await (
        await ch.query({ query: `SELECT count() AS n FROM flights_${name}`, format: 'JSONEachRow' })
      ).json<{ n: string }>();
      process.stdout.write(
        `${name}: ${row!.n} rows loaded in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
    }

    process.stdout.write(
      `\nquery (tenant ${tenant} of ${TENANTS}, ${RUNS} runs)`.padEnd(70) + 'before (FINAL)        after\n',
    );
    for (const [label, sql] of Object.entries(QUERIES)) {
      const figures: string[] = [];
      const answers: string[] = [];
      for (const [name, layout] of Object.entries(LAYOUTS)) {
        const times: number[] = [];
        let answer = '';
        for (let run = 0; run < RUNS; run++) {
          const started = performance.now();
          const result = await ch.query({ query: sql(`flights_${name} ${layout.final}`), format: 'JSONEachRow' });
          answer = JSON.stringify(await result.json());
          times.push(performance.now() - started);
        }
        times.sort((a, b) => a - b);
        answers.push(answer);
        figures.push(
          `${times[Math.floor(times.length / 2)]!.toFixed(0)} ms (${times[0]!.toFixed(0)}-${times.at(-1)!.toFixed(0)})`.padEnd(
            22,
          ),
        );
      }
      process.stdout.write(
        `${label.padEnd(70)}${figures.join('')}${answers[0] === answers[1] ? '' : '  ANSWERS DIFFER'}\n`,
      );
    }
  } finally {
    await ch.command({ query: `DROP DATABASE IF EXISTS ${DATABASE}` }).catch(() => undefined);
    await ch.close();
  }
}

await main();
