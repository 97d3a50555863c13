/**
 * The ClickHouse sink of one checkout as a process of its own, for bench/clickhouse-sink.ts: it
 * imports the sink from `<root>` (this tree or another, say /work/main), so two versions of the
 * code are measured on the same topic without sharing a module.
 *   node --import tsx bench/clickhouse-sink-child.ts <root> <topic> <table> <name> <maxRows> <maxMs> [N]
 * With N: prints {"ms": ..., "cpuMs": ...} once the table holds N rows (wall and this process's CPU
 * time from the group join), and exits.
 * Without: prints "ready" once joined and runs until SIGTERM.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const [root, topic, table, name, maxRows, maxMs, count] = process.argv.slice(2);
if (!root || !topic || !table || !name || !maxRows || !maxMs) throw new Error('usage: see the header');
const from = (file: string) => import(path.join(path.resolve(root), file));
const { startSink, withOverrides } = await from('connectors/sinks/index.ts');
const { flightsToClickHouse } = await from('connectors/sinks/samples-flights.ts');
const { createClickHouse } = await from('core/clickhouse.ts');

const spec = withOverrides(flightsToClickHouse, {
  topic,
  table,
  name,
  batch: { maxRows: Number(maxRows), maxMs: Number(maxMs) },
});
const sink = await startSink(spec);
await sink.joined;
const started = performance.now();
const cpuAtStart = process.cpuUsage();
if (count === undefined) {
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => void sink.stop().then(() => process.exit(0)));
} else {
  const clickhouse = createClickHouse();
  for (;;) {
    const result = await clickhouse.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' });
    const rows = (await result.json()) as { n: string }[];
    if (Number(rows[0]!.n) >= Number(count)) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuMs = (cpu.user + cpu.system) / 1000; // this process's CPU: steadier than wall time on a shared machine
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - started, cpuMs })}\n`);
  await sink.stop();
  await clickhouse.close();
  process.exit(0);
}
