/** `millrace help`'s text: one component's spec (`millrace help <component>`), and the list of components. */
import { COMMON_SETTINGS } from '../../core/component-fields.ts';
import type { ComponentSpec, ConfigField } from '../../core/component-spec.ts';
import { COMPONENT_KINDS } from './registry.ts';
import { flowOf } from './topics.ts';

const WIDTH = 100;

/**
 * Words of `text` in lines of at most `width` characters, each line after `indent` (a longer word stands alone).
 *
 * @example
 * ```ts
 * wrap('aa bb cc dd', '  ', 8); // '  aa bb\n  cc dd'
 * ```
 */
export function wrap(text: string, indent: string, width = WIDTH): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}

const table = (rows: string[][], indent: string): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
};

/** Whether it reads or writes topics (or has them given at run time): then it reads the Kafka settings too. */
export const talksToKafka = (spec: ComponentSpec): boolean => spec.kind !== 'source' || spec.output.length > 0;

const defaultOf = (field: ConfigField): string =>
  field.required ? '(required)' : field.default === undefined ? '-' : field.default === '' ? '(empty)' : field.default;

/**
 * What `millrace help <component>` prints: name and kind, description, flow, a config table and the example.
 *
 * @example
 * ```ts
 * process.stdout.write(renderComponentHelp(componentByName('finance-scoring')));
 * // finance-scoring (processor)
 * //
 * //   Scores financial statements with ...
 * ```
 */
export function renderComponentHelp(spec: ComponentSpec): string {
  const flow = flowOf(spec).map((l) => [
    l.label,
    [l.values.join(', '), l.note ? `(${l.note})` : ''].filter(Boolean).join(' '),
  ]);
  // name, type and default aligned; under each, its description and an example
  const rows = table(
    [['NAME', 'TYPE', 'DEFAULT'], ...spec.config.map((f) => [f.name, f.type, defaultOf(f)])],
    '  ',
  ).split('\n');
  const config = [
    rows[0],
    ...spec.config.map((f, i) => `${rows[i + 1]}\n${wrap(`${f.description}; e.g. ${f.example}`, '      ')}`),
  ].join('\n');
  return [
    `${spec.name} (${spec.kind})`,
    '',
    wrap(spec.description, '  '),
    '',
    table(flow, '  '),
    '',
    'config:',
    spec.config.length > 0 ? config : '  none',
    ...(talksToKafka(spec)
      ? [wrap(`Also read, as by every role that talks to Kafka: ${COMMON_SETTINGS.join(', ')} (core/config.ts).`, '  ')]
      : []),
    '',
    'example:',
    spec.example
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n'),
    '',
  ].join('\n');
}

/**
 * The components, by kind, as `millrace help` lists them after the commands.
 *
 * @example
 * ```ts
 * renderComponentList(components);
 * // components (npx millrace help <component>):
 * //   sources     uploads, finance-bulk, ...
 * ```
 */
export function renderComponentList(list: readonly ComponentSpec[]): string {
  const rows = COMPONENT_KINDS.map((kind) => {
    const label = `${kind}s`.padEnd(12);
    const names = list
      .filter((c) => c.kind === kind)
      .map((c) => c.name)
      .join(', ');
    return `  ${label}${wrap(names, ' '.repeat(14)).trimStart()}`;
  });
  return `components (npx millrace help <component>):\n${rows.join('\n')}\n`;
}
