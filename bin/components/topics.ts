/** What a component reads and writes, as labelled lines: shared by `millrace help <component>` and docs/components.md. */
import { deadLetterTopics, type ComponentSpec } from '../../core/component-spec.ts';

export interface TopicLine {
  label: string;
  /** Topic names, or words when `topics` is false. */
  values: string[];
  topics: boolean;
  /** Said after the values. */
  note?: string;
}

/**
 * The lines of a spec's flow, in reading order: runs, input, output, side outputs, state, dead
 * letters (or what a source does with bad input), other writes.
 *
 * @example
 * ```ts
 * flowOf(componentByName('market-features')).map((l) => l.label);
 * // ['runs', 'input', 'output', 'state', 'dead letters']
 * ```
 */
export function flowOf(spec: ComponentSpec): TopicLine[] {
  const lines: TopicLine[] = [{ label: 'runs', values: [spec.runs], topics: false }];
  const given = (flag: string) => ({ values: [`given by ${flag}`], topics: false });
  if (spec.kind !== 'source')
    lines.push({
      label: 'input',
      ...(spec.input.length > 0 ? { values: [...spec.input], topics: true } : given('--input')),
    });
  if (spec.kind === 'processor')
    lines.push({
      label: 'output',
      ...(spec.output.length > 0 ? { values: [...spec.output], topics: true } : given('--output')),
    });
  if (spec.kind === 'source')
    lines.push({
      label: 'output',
      ...(spec.output.length > 0 ? { values: [...spec.output], topics: true } : { values: ['none'], topics: false }),
    });
  if (spec.sideOutputs?.length) lines.push({ label: 'side output', values: [...spec.sideOutputs], topics: true });
  if (spec.stateTopic)
    lines.push({
      label: 'state',
      values: [spec.stateTopic],
      topics: true,
      note: "compacted changelog, written in the output's transaction",
    });
  if (spec.kind !== 'source') {
    const dlq = deadLetterTopics(spec);
    const note = `a record that cannot be ${spec.kind === 'sink' ? 'decoded, mapped or stored' : 'decoded or transformed'}, with the error, stage and origin in headers`;
    lines.push({
      label: 'dead letters',
      ...(dlq.length > 0 ? { values: dlq, topics: true } : { values: ['`<input>.dlq`'], topics: false }),
      note,
    });
  }
  if (spec.rejects) lines.push({ label: 'rejects', values: [spec.rejects], topics: false });
  if (spec.writes?.length) lines.push({ label: 'writes', values: [...spec.writes], topics: false });
  return lines;
}
