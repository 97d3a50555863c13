/** The sinks' component specs: one per sink of index.ts, each derived from its SinkSpec (component.ts). */
import type { ComponentSpec } from '../../core/component-spec.ts';
import { sinkComponent } from './component.ts';
import { sinks } from './specs.ts';

export const sinkComponents: readonly ComponentSpec[] = Object.values(sinks).map((sink) => sinkComponent(sink));
