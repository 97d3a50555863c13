/**
 * The one list of components: every source, processor and sink, in that order, composed of the
 * per-kind tables (connectors/sources/components.ts, processors/components.ts,
 * connectors/sinks/components.ts). It lives in bin/ because only bin/ and api/ may import both
 * processors/ and connectors/. Nothing registers itself: a new component is added to its kind's table.
 */
import { sinkComponents } from '../../connectors/sinks/components.ts';
import { sourceComponents } from '../../connectors/sources/components.ts';
import type { ComponentKind, ComponentSpec } from '../../core/component-spec.ts';
import { processorComponents } from '../../processors/components.ts';
import { errorKind } from '../../core/errors.ts';

export const components: readonly ComponentSpec[] = [...sourceComponents, ...processorComponents, ...sinkComponents];

export const COMPONENT_KINDS: readonly ComponentKind[] = ['source', 'processor', 'sink'];

export class UnknownComponentError extends errorKind('UnknownComponentError', { code: 'unknown_component' }) {}

/**
 * The component of that name; throws UnknownComponentError naming it and listing the known ones.
 *
 * @example
 * ```ts
 * componentByName('finance-scoring').input; // ['finance.statements.raw']
 * componentByName('nope'); // UnknownComponentError: unknown component "nope"; known: uploads, ...
 * ```
 */
export function componentByName(name: string, list: readonly ComponentSpec[] = components): ComponentSpec {
  const found = list.find((c) => c.name === name);
  if (!found)
    throw new UnknownComponentError(`unknown component "${name}"; known: ${list.map((c) => c.name).join(', ')}`);
  return found;
}
