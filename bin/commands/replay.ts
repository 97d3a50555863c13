/**
 * `millrace replay --topic T --from <offset|time> (--sink NAME [--table X] | --processor NAME [--output U] [--model ID]) [--partition P]`:
 * re-runs a sink or a processor over a slice of the log (from the offset, or the first record at or
 * after the time, to the end of the log now), under a consumer group of its own, then exits. The
 * live sink or processor is not disturbed; upserts, the ReplacingMergeTree and consumers keyed on
 * `id` absorb what was already written.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sinks, startSink, withOverrides } from '../../connectors/sinks/index.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { metrics } from '../../core/metrics.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { replayRange, replaySize } from '../../core/replay-range.ts';
import { processors } from '../../processors/index.ts';
import { runProcessor } from '../../processors/runtime/index.ts';
import { flags } from './options.ts';

const USAGE =
  'usage: millrace replay --topic T --from <offset|ISO time> (--sink NAME [--table X] | --processor NAME [--output U] [--model ID]) [--partition P]';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: flags('string', 'topic', 'from', 'sink', 'table', 'processor', 'output', 'model', 'partition'),
  });
  if (!values.topic || !values.from || !values.sink === !values.processor) throw new Error(USAGE);
  const partition = values.partition === undefined ? undefined : Number(values.partition);
  if (partition !== undefined && (!Number.isInteger(partition) || partition < 0))
    throw new Error(`--partition must be a partition number, got "${values.partition}"`);
  const log = createLogger('replay');
  const kafka = createKafka('millrace-replay');
  const range = await replayRange(kafka, values.topic, values.from, partition);
  const size = replaySize(range);
  const span = Object.fromEntries([...range.from].map(([p, from]) => [p, `${from}..${range.until.get(p)}`]));
  if (size === 0n) {
    process.stdout.write(`nothing to replay in ${values.topic} from ${values.from}\n`);
    return 0;
  }
  log.info({ topic: values.topic, records: String(size), span }, 'replaying');
  const suffix = randomBytes(3).toString('hex');
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  let groupId: string;
  let label: { role: string; name: string };

  if (values.sink) {
    const base = sinks[values.sink];
    if (!base) throw new Error(`unknown sink ${values.sink} (known: ${Object.keys(sinks).join(', ')})`);
    const spec = withOverrides(base, {
      topic: values.topic,
      table: values.table,
      name: `${base.name}-replay-${suffix}`,
    });
    const sink = await startSink(spec, { kafka, log, replay: { ...range, onDone: () => done() } });
    await finished;
    await sink.stop();
    groupId = `millrace.sink.${spec.name}`;
    label = { role: 'sink', name: spec.name };
    if (spec.target === 'postgres') {
      // the replay's own positions served their purpose
      const pool = createPostgresPool(1);
      await pool.query('DELETE FROM sink_offsets WHERE sink = $1', [spec.name]).finally(() => pool.end());
    }
  } else {
    const factory = processors[values.processor!];
    if (!factory)
      throw new Error(`unknown processor ${values.processor} (known: ${Object.keys(processors).join(', ')})`);
    const base = factory({ input: values.topic, output: values.output, model: values.model });
    const spec = { ...base, name: `${base.name}.replay.${suffix}` };
    const processor = await runProcessor(spec, { kafka, log, replay: { ...range, onDone: () => done() } });
    await finished;
    await processor.stop();
    groupId = `millrace.processor.${spec.name}`;
    label = { role: 'processor', name: spec.name };
  }

  const admin = kafka.admin();
  await admin.connect();
  await admin
    .deleteGroups([groupId])
    .catch((error: Error) => log.warn({ err: error, groupId }, 'could not delete the replay group'));
  await admin.disconnect();
  const count = async (counter: typeof metrics.recordsIn) =>
    (await counter.get()).values.find((v) => v.labels.role === label.role && v.labels.name === label.name)?.value ?? 0;
  process.stdout.write(
    `replayed ${values.topic} (${Object.entries(span)
      .map(([p, s]) => `${p}:${s}`)
      .join(' ')}): ${await count(metrics.recordsIn)} in, ` +
      `${await count(metrics.recordsOut)} out, ${await count(metrics.dlq)} to the DLQ\n`,
  );
  return 0;
}
