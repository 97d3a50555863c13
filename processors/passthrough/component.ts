/** The passthrough processor's component spec (what `millrace help passthrough` prints). */
import { processorComponent } from '../component.ts';

/**
 * `passthrough`: copies a topic to another exactly-once.
 *
 * @example
 * ```sh
 * npx millrace processor passthrough --input market.quotes.raw --output market.quotes.copy
 * ```
 */
export const passthroughComponent = processorComponent({
  name: 'passthrough',
  description:
    "Re-emits every record of its input topic unchanged on its output topic (whose schema is the input's, or one the values still fit), exactly-once: " +
    "to copy a stream, and as the runtime's reference processor. Both topics are given at run time; " +
    'its consumer group is `millrace.processor.passthrough.<input>.<output>`, so two pass-throughs never share offsets.',
  example: 'npx millrace processor passthrough --input samples.flights.raw --output samples.flights.copy',
});
