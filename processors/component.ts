/**
 * A processor's component spec (core/component-spec.ts) with what every processor shares: the
 * flags of `millrace processor` (bin/commands/processor.ts), their runtime defaults (runtime/run.ts),
 * and the metrics endpoint. Each processor declares its own in its folder's `component.ts`.
 */
import { METRICS_FIELDS } from '../core/component-fields.ts';
import { defineComponent, type ComponentSpec, type ConfigField } from '../core/component-spec.ts';

export interface ProcessorComponent {
  name: string;
  description: string;
  /** The topic read when no `--input` is given; absent: `--input` is required. */
  input?: string;
  /** The topic written when no `--output` is given; absent: `--output` is required. */
  output?: string;
  sideOutputs?: readonly string[];
  stateTopic?: string;
  writes?: readonly string[];
  /** Its own flags (`--model`), listed after `--input` and `--output`. */
  flags?: readonly ConfigField[];
  /** The environment variables it reads besides the metrics endpoint's. */
  env?: readonly ConfigField[];
  /** Default: `npx millrace processor <name>`. */
  example?: string;
}

const topicFlag = (
  flag: '--input' | '--output',
  topic: string | undefined,
  what: string,
  example: string,
): ConfigField => ({
  name: flag,
  type: 'topic',
  ...(topic === undefined ? { required: true } : { default: topic }),
  description: what,
  example: topic ?? example,
});

/**
 * The component spec of a processor run by `millrace processor <name>`.
 *
 * @example
 * ```ts
 * export const marketParserComponent = processorComponent({
 *   name: 'market-parser',
 *   description: 'Quotes from stored quote and history pages; a page whose layout changed goes to the DLQ naming the selector.',
 *   input: 'market.pages.raw',
 *   output: 'market.quotes.raw',
 * });
 * ```
 */
export function processorComponent(spec: ProcessorComponent): ComponentSpec {
  return defineComponent({
    kind: 'processor',
    name: spec.name,
    description: spec.description,
    input: spec.input === undefined ? [] : [spec.input],
    output: spec.output === undefined ? [] : [spec.output],
    ...(spec.sideOutputs ? { sideOutputs: spec.sideOutputs } : {}),
    ...(spec.stateTopic ? { stateTopic: spec.stateTopic } : {}),
    ...(spec.writes ? { writes: spec.writes } : {}),
    runs: `millrace processor ${spec.name}`,
    config: [
      topicFlag('--input', spec.input, 'the topic read', 'domain.entity.raw'),
      topicFlag('--output', spec.output, 'the topic written', 'domain.entity.enriched'),
      ...(spec.flags ?? []),
      {
        name: '--session-timeout-ms',
        type: 'integer',
        default: '30000',
        description: 'a member silent this long loses its partitions (broker minimum 6000); a batch must take less',
        example: '10000',
      },
      {
        name: '--concurrency',
        type: 'integer',
        default: '3',
        description: 'input partitions processed at once, each in its own transaction',
        example: '6',
      },
      ...(spec.env ?? []),
      ...METRICS_FIELDS,
    ],
    example: spec.example ?? `npx millrace processor ${spec.name}`,
  });
}
