/** docs/components.md from the component specs and the pipelines: pure, so a test can regenerate it in memory. */
import { COMMON_SETTINGS } from '../../core/component-fields.ts';
import { summaryOf, type ComponentSpec, type ConfigField } from '../../core/component-spec.ts';
import type { Pipeline } from '../../processors/pipelines.ts';
import { COMPONENT_KINDS } from './registry.ts';
import { flowOf } from './topics.ts';

/** Text outside code spans with `<` and `>` escaped, so that `<name>` is shown rather than taken for HTML. */
const prose = (text: string): string =>
  text
    .split('`')
    .map((part, i) => (i % 2 === 0 ? part.replace(/</g, '&lt;').replace(/>/g, '&gt;') : part))
    .join('`');
/** A table cell: prose, pipes escaped, line breaks flattened. */
const cell = (text: string): string =>
  prose(text)
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ');
const code = (text: string): string => `\`${text}\``;
const link = (name: string): string => `[${name}](#${name})`;
const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;

const defaultOf = (field: ConfigField): string =>
  field.required
    ? 'required'
    : field.default === undefined
      ? ''
      : field.default === ''
        ? '(empty)'
        : code(field.default);

function section(spec: ComponentSpec): string {
  const flow = flowOf(spec).map((line) => {
    const values = line.topics ? line.values.map(code) : line.values.map(prose);
    return `- **${line.label}**: ${values.join(', ')}${line.note ? ` (${prose(line.note)})` : ''}`;
  });
  const config =
    spec.config.length === 0
      ? ['No configuration of its own.']
      : [
          row(['setting', 'type', 'default', 'description', 'example']),
          row(['---', '---', '---', '---', '---']),
          ...spec.config.map((f) =>
            row([code(f.name), f.type, cell(defaultOf(f)), cell(f.description), code(f.example.replace(/\|/g, '\\|'))]),
          ),
        ];
  return [
    `### ${spec.name}`,
    '',
    prose(spec.description),
    '',
    ...flow,
    '',
    ...config,
    '',
    '```sh',
    spec.example,
    '```',
    '',
  ].join('\n');
}

function pipelineRoles(pipeline: Pipeline, names: ReadonlySet<string>): string {
  return pipeline.roles
    .map((args) => {
      const name = args[1];
      const role = name && names.has(name) ? link(name) : code(args.join(' '));
      return `${role}${args.length > 2 ? ` (${code(args.slice(2).join(' '))})` : ''}`;
    })
    .join(', ');
}

/**
 * The whole of docs/components.md.
 *
 * @example
 * ```ts
 * writeFileSync('docs/components.md', renderComponentsMarkdown(components, pipelines));
 * ```
 */
export function renderComponentsMarkdown(list: readonly ComponentSpec[], pipelines: readonly Pipeline[]): string {
  const names = new Set(list.map((c) => c.name));
  const index = [
    row(['kind', 'component', 'reads', 'writes', 'what it does']),
    row(['---', '---', '---', '---', '---']),
    ...list.map((c) =>
      row([
        c.kind,
        link(c.name),
        c.input.map(code).join(', ') || (c.kind === 'source' ? '' : '`--input`'),
        [...c.output.map(code), ...(c.sideOutputs ?? []).map(code), ...(c.writes ?? []).map(cell)].join(', ') ||
          (c.kind === 'processor' ? '`--output`' : ''),
        cell(summaryOf(c)),
      ]),
    ),
  ];
  const kinds = COMPONENT_KINDS.map((kind) =>
    [`## ${kind[0]!.toUpperCase()}${kind.slice(1)}s`, '', ...list.filter((c) => c.kind === kind).map(section)].join(
      '\n',
    ),
  );
  return [
    '# Components',
    '',
    '<!-- Generated from the component specs (bin/components/registry.ts) by `npm run docs`; do not edit by hand. -->',
    '',
    'Every source, processor and sink of Millrace, from the spec it declares next to its code',
    "(`component.ts` in its folder; a sink's comes from its `defineSink`). `npx millrace help <component>`",
    `prints the same. Besides the settings listed, every role that talks to Kafka reads ${COMMON_SETTINGS.map(code).join(', ')}`,
    '(`core/config.ts`). Processors and sinks send a record they cannot handle to `<input>.dlq` and go on.',
    '',
    ...index,
    '',
    '## Pipelines',
    '',
    'What `millrace start` runs ([processors/pipelines.ts](../processors/pipelines.ts)), each role a supervised worker thread:',
    '',
    row(['pipeline', 'roles']),
    row(['---', '---']),
    ...pipelines.map((p) => row([code(p.name), pipelineRoles(p, names)])),
    '',
    ...kinds,
  ].join('\n');
}
