/**
 * Throughput of the processor runtime and the sinks, on the running broker, in one run:
 *   raw       a plain kafkajs consume-then-produce loop copying bytes (no Avro, no transactions)
 *   runtime   the processor runtime with the pass-through transform (decode, encode, one
 *             transaction per batch with its offsets): raw / runtime is the runtime's overhead
 *   clickhouse, postgres   each sink alone, from the same topic into a fresh table
 * Every stage reads the same N real flights (vega-datasets, repeated with distinct ids), already
 * in the input topic, and is timed from start until its last record is durable.
 * Run (services up: `npm run infra:up && npm run provision`): node --import tsx bench/runtime.ts [N]
 */
import { performance } from 'node:perf_hooks';
import { startSink } from '../connectors/sinks/index.ts';
import { createKafka } from '../core/kafka.ts';
import { Registry } from '../core/schema-registry.ts';
import { passthrough } from '../processors/passthrough/index.ts';
import { processorGroupOf, runProcessor } from '../processors/runtime/index.ts';
import { rawLoop } from './raw-loop.ts';
import { eventually } from '../testkit/helpers.ts';
import { manyFlights, produceFlights, topicPair, waitForCommitted } from '../testkit/processor-helpers.ts';
import { clickhouseHoldings, dropTables, postgresHoldings, sampleSinks } from '../testkit/sink-helpers.ts';

const N = Number(process.argv[2] ?? 100_000);
const kafka = createKafka('millrace-bench');
const registry = new Registry();

const rate = (records: number, ms: number) => Math.round(records / (ms / 1000));
const results: { stage: string; records: number; seconds: string; perSecond: number }[] = [];
const record = (stage: string, ms: number) => {
  results.push({ stage, records: N, seconds: (ms / 1000).toFixed(2), perSecond: rate(N, ms) });
  process.stderr.write(`${stage}: ${(ms / 1000).toFixed(2)} s\n`);
};

async function main(): Promise<void> {
  const { input, output } = await topicPair('bench', 6, 6);
  const rawOut = (await topicPair('bench_raw', 6, 6)).output;
  process.stderr.write(`producing ${N} flights to ${input.name}...\n`);
  await produceFlights(kafka, registry, input.name, manyFlights(N), 5000);

  record(
    'raw kafkajs consume-then-produce',
    await rawLoop({ kafka, input: input.name, output: rawOut.name, count: N, sendSize: 1000, timeoutMs: 600_000 }),
  );

  const spec = passthrough({ input: input.name, output: output.name });
  let started = performance.now();
  const processor = await runProcessor(spec, { kafka, registry });
  await waitForCommitted(kafka, processorGroupOf(spec.name), input.name, N, 600_000);
  record('runtime, pass-through (exactly-once)', performance.now() - started);
  await processor.stop();

  const sinks = await sampleSinks(input.name);
  try {
    for (const [stage, sinkSpec, holdings] of [
      ['sink into ClickHouse', sinks.clickhouse, clickhouseHoldings],
      ['sink into Postgres', sinks.postgres, postgresHoldings],
    ] as const) {
      started = performance.now();
      const sink = await startSink(sinkSpec, { kafka, registry });
      await eventually(stage, async () => ((await holdings(sinks.table)).rows >= N ? true : undefined), 600_000);
      record(stage, performance.now() - started);
      await sink.stop();
    }
  } finally {
    await dropTables(sinks.table);
  }

  const raw = results[0]!.perSecond;
  const runtime = results[1]!.perSecond;
  for (const r of results)
    process.stdout.write(
      `${r.stage.padEnd(40)} ${String(r.records).padStart(8)} records ${r.seconds.padStart(7)} s ${String(r.perSecond).padStart(8)} records/s\n`,
    );
  process.stdout.write(`runtime overhead: raw / runtime = ${(raw / runtime).toFixed(2)}x\n`);
}

await main();
process.exit(0);
