/**
 * What every source, processor and sink declares about itself, as data: its name, the topics it
 * reads and writes, its configuration (environment variables of core/config.ts and command-line
 * flags) with defaults and examples, and how it is run. `millrace help <component>` prints a spec
 * and docs/components.md is generated from all of them; the runtimes do not read them.
 */

export type ComponentKind = 'source' | 'processor' | 'sink';

/** The kinds of value a configuration field takes, as written in the environment or on the command line. */
export type ConfigFieldType =
  | 'string'
  | 'integer'
  | 'number'
  | 'url'
  | 'url list'
  | 'host list'
  | 'path'
  | 'topic'
  | 'identifier'
  | 'probabilities';

export interface ConfigField {
  /** `--flag` for a command-line option; an upper-case name for an environment variable read through core/config.ts. */
  name: string;
  type: ConfigFieldType;
  /** As written in the environment or on the command line; `$NAME/...` or `<...>` when derived. Absent: none. */
  default?: string;
  /** The component refuses to start without it. */
  required?: boolean;
  description: string;
  /** A value as it would be written, e.g. `3` or `http://127.0.0.1:8090`. */
  example: string;
}

export interface ComponentSpec {
  kind: ComponentKind;
  /** The name `millrace help`, `millrace processor|sink|source` and pipelines.ts use: `[a-z][a-z0-9-]*`. */
  name: string;
  /** What it does and what it guarantees, in a few sentences; the first one is its summary. */
  description: string;
  /** Topics read (by default: a flag may point it elsewhere); empty for a source, or when given at run time. */
  input: readonly string[];
  /** Topics written (by default), empty when it writes none or they are given at run time. */
  output: readonly string[];
  /** Further topics written in the same transaction as `output` (a shadow model's scores). */
  sideOutputs?: readonly string[];
  /** The compacted changelog topic its keyed state lives in, created by the runtime. */
  stateTopic?: string;
  /**
   * Where bad input goes. Processors and sinks need not say: a record that cannot be decoded,
   * transformed or stored goes to `<input>.dlq` with the reason in headers (see `deadLetterTopics`).
   */
  rejects?: string;
  /** What it writes besides topics: tables, files (`ClickHouse catalog_rows`). */
  writes?: readonly string[];
  /** How it is started: `millrace <kind> <name>`, or by the API for sources driven by requests. */
  runs: string;
  config: readonly ConfigField[];
  /** A shell session showing it in use; `#` comments explain. */
  example: string;
}

/**
 * Types a component spec (the identity): declare one next to the component's code and list it in
 * its kind's table.
 *
 * @example
 * ```ts
 * export const marketParserComponent = defineComponent({
 *   kind: 'processor',
 *   name: 'market-parser',
 *   description: 'Quotes from stored quote and history pages.',
 *   input: ['market.pages.raw'],
 *   output: ['market.quotes.raw'],
 *   runs: 'millrace processor market-parser',
 *   config: [],
 *   example: 'npx millrace processor market-parser',
 * });
 * ```
 */
export function defineComponent(spec: ComponentSpec): ComponentSpec {
  return spec;
}

/**
 * The dead-letter topics of a processor or sink: `<input>.dlq` per input topic (provisioning creates them).
 *
 * @example
 * ```ts
 * deadLetterTopics(financeScoringComponent); // ['finance.statements.raw.dlq']
 * ```
 */
export function deadLetterTopics(spec: ComponentSpec): string[] {
  return spec.kind === 'source' ? [] : spec.input.map((topic) => `${topic}.dlq`);
}

/**
 * The first sentence of a description: the component's one-line summary.
 *
 * @example
 * ```ts
 * summaryOf({ description: 'Adds indicators to each quote. Each symbol...' }); // 'Adds indicators to each quote.'
 * ```
 */
export function summaryOf(spec: Pick<ComponentSpec, 'description'>): string {
  const match = /^(.+?[.!?])(\s|$)/s.exec(spec.description.trim());
  return (match?.[1] ?? spec.description).replace(/\s+/g, ' ').trim();
}
