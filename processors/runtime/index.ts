/** The processor runtime: define a `ProcessorSpec`, run it exactly-once with `runProcessor`. */
export { perRecord, processorGroupOf, transactionalIdOf, LINEAGE_HEADER } from './spec.ts';
export type { ConsumedRecord, ProcessorSpec, TransformContext, TransformResult } from './spec.ts';
export { runProcessor, BatchFailedError } from './run.ts';
export type { ProcessorOptions, RunningProcessor } from './run.ts';
