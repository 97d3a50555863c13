/**
 * A sink's component spec (core/component-spec.ts), derived from its SinkSpec: the topic, table and
 * batching defaults are the spec's own (resolved as the runtime resolves them), the flags those of
 * `millrace sink` (bin/commands/sink.ts). So a sink declares itself once, in its defineSink.
 */
import { CLICKHOUSE_DATABASE, CLICKHOUSE_URL, METRICS_FIELDS, POSTGRES_URL } from '../../core/component-fields.ts';
import { defineComponent, type ComponentSpec } from '../../core/component-spec.ts';
import { checkSpec, type SinkSpec } from './runtime/spec.ts';

const TARGET = { postgres: 'Postgres', clickhouse: 'ClickHouse' } as const;

/** How the target makes the writes exactly-once, from the spec (see README.md and clickhouse/README.md). */
const guarantee = (spec: { target: 'postgres' | 'clickhouse'; key: readonly string[] }): string =>
  spec.target === 'postgres'
    ? `Each batch is one transaction: rows upserted on \`(${spec.key.join(', ')})\` and the sink's offsets stored together, so a crash neither loses nor duplicates a row.`
    : `Each batch is one insert of rows carrying \`_topic/_partition/_offset\` into a ReplacingMergeTree ordered by \`(${spec.key.join(', ')})\`; the table's max(_offset) + 1 is where the sink resumes.`;

/**
 * The component spec of a sink `millrace sink <name>` runs.
 *
 * @example
 * ```ts
 * const spec = sinkComponent(flightsToClickHouse);
 * spec.input; // ['samples.flights.raw']
 * spec.writes; // ['ClickHouse samples_flights']
 * ```
 */
export function sinkComponent<T>(sink: SinkSpec<T>): ComponentSpec {
  const spec = checkSpec(sink);
  const target = TARGET[spec.target];
  return defineComponent({
    kind: 'sink',
    name: spec.name,
    description: `${spec.description ?? `${spec.topic} into ${target} ${spec.table}.`} ${guarantee(spec)} A database outage pauses the sink and retries with back-off.`,
    input: [spec.topic],
    output: [],
    writes: [`${target} ${spec.table}`],
    runs: `millrace sink ${spec.name}`,
    config: [
      { name: '--topic', type: 'topic', default: spec.topic, description: 'the topic read', example: spec.topic },
      {
        name: '--table',
        type: 'identifier',
        default: spec.table,
        description: `the ${target} table written (it must have the sink's columns)`,
        example: `${spec.table}_copy`,
      },
      {
        name: '--as',
        type: 'string',
        default: spec.name,
        description:
          'run under another name: its own consumer group (`millrace.sink.<name>`), stored offsets, DLQ stage and metrics label',
        example: `${spec.name}-backfill`,
      },
      {
        name: '--max-rows',
        type: 'integer',
        default: String(spec.batch.maxRows),
        description: 'most records one write holds',
        example: '2000',
      },
      {
        name: '--max-ms',
        type: 'integer',
        default: String(spec.batch.maxMs),
        description: 'longest a fetch waits on an idle topic (ms); records are written as soon as they arrive',
        example: '500',
      },
      {
        name: '--session-timeout-ms',
        type: 'integer',
        default: String(spec.consumer.sessionTimeoutMs),
        description:
          "a member silent this long loses its partitions (at least 6000); shorter moves a killed sink's partitions sooner",
        example: '10000',
      },
      ...(spec.target === 'postgres' ? [POSTGRES_URL] : [CLICKHOUSE_URL, CLICKHOUSE_DATABASE]),
      ...METRICS_FIELDS,
    ],
    example: [
      `npx millrace sink ${spec.name}`,
      `npx millrace sink ${spec.name} --max-rows 2000 --max-ms 500`,
      `npx millrace replay --sink ${spec.name} --topic ${spec.topic} --from 0   # re-write a slice of the log under a group of its own`,
    ].join('\n'),
  });
}
