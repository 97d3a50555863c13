/**
 * The processor stage of bench/flights.ts alone, on a topic filled once, so that it can be run
 * again and again while the runtime changes: the scoring processor (decode, features, batch ONNX,
 * encode, exactly-once) and the raw kafkajs consume-then-produce loop (5,000 records per send, no
 * transactions) over the same records, back to back, each into a fresh output topic.
 *   node --import tsx bench/processor-vs-raw.ts fill <N>          prints the input topic's name
 *   node --import tsx bench/processor-vs-raw.ts run <input> <N>    processor, then raw loop
 *   node --cpu-prof --import tsx bench/processor-vs-raw.ts processor <input> <N>   the processor alone
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createKafka } from '../core/kafka.ts';
import { Registry } from '../core/schema-registry.ts';
import { processorGroupOf, runProcessor } from '../processors/runtime/index.ts';
import { flightTopic } from '../testkit/helpers.ts';
import { manyFlights, produceFlights, waitForCommitted } from '../testkit/processor-helpers.ts';
import { flightsScoring, scoredFlightsTopic } from './flights-transform.ts';
import { rawLoop } from './raw-loop.ts';

const SEND = 5_000; // as bench/flights.ts
const kafka = createKafka('millrace-bench');
const registry = new Registry();
const [mode, ...args] = process.argv.slice(2);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

if (mode === 'fill') {
  const topic = (await flightTopic('proc_in', 6)).name;
  await produceFlights(kafka, registry, topic, manyFlights(Number(args[0])), SEND);
  process.stdout.write(`${topic}\n`);
} else if (mode === 'run' || mode === 'processor') {
  const [input, n] = [args[0]!, Number(args[1])];
  // on a shared, saturated machine the wall clock measures the neighbours too: CPU seconds per stage as well
  const rates: Record<string, number> = {};
  const cpuRates: Record<string, number> = {};
  const timed = async (stage: string, run: () => Promise<unknown>) => {
    const before = load();
    const started = performance.now();
    const cpu = process.cpuUsage();
    await run();
    const seconds = (performance.now() - started) / 1000;
    const { user, system } = process.cpuUsage(cpu);
    const cpuSeconds = (user + system) / 1e6;
    rates[stage] = n / seconds;
    cpuRates[stage] = n / cpuSeconds;
    process.stdout.write(
      `${stage.padEnd(10)} ${n} records ${seconds.toFixed(2)} s ${Math.round(n / seconds)} rec/s; ` +
        `${cpuSeconds.toFixed(2)} CPU s ${Math.round(n / cpuSeconds)} rec/CPU-s; load ${before} -> ${load()}\n`,
    );
  };
  const spec = await flightsScoring(
    input,
    await scoredFlightsTopic(kafka, registry, `bench.proc_${randomBytes(4).toString('hex')}.scored`),
    `bench-proc-${randomBytes(4).toString('hex')}`,
  );
  await timed('processor', async () => {
    const processor = await runProcessor(spec, { kafka, registry });
    await waitForCommitted(kafka, processorGroupOf(spec.name), input, n, 1_800_000);
    await processor.stop();
  });
  if (mode === 'processor') process.exit(0);
  const rawOut = (await flightTopic('proc_copy', 6)).name;
  await timed('raw loop', () =>
    rawLoop({ kafka, input, output: rawOut, count: n, sendSize: SEND, timeoutMs: 1_800_000 }),
  );
  const ratio = (of: Record<string, number>) => (of.processor! / of['raw loop']!).toFixed(2);
  process.stdout.write(`processor / raw: ${ratio(rates)} (wall clock), ${ratio(cpuRates)} (CPU time)\n`);
} else {
  throw new Error('usage: processor-vs-raw.ts fill <N> | run <input> <N> | processor <input> <N>');
}
process.exit(0);
