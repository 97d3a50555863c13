/**
 * The pass-through processor: re-emits every record of its input topic unchanged on its output
 * topic (whose schema is the input's, or one the values still fit). Topics are given at run time;
 * useful to copy a stream exactly-once, and as the runtime's reference processor.
 */
import type { ProcessorSpec } from '../runtime/index.ts';

export type AnyRecord = { id: string } & Record<string, unknown>;

export function passthrough({ input, output }: { input: string; output: string }): ProcessorSpec<AnyRecord, AnyRecord> {
  return {
    // one consumer group per (input, output) pair: two pass-throughs never share offsets
    name: `passthrough.${input}.${output}`,
    input,
    output,
    transform: (records) => records.map((r) => [r.value]),
  };
}
