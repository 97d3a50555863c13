/** What the training algorithms share: encoded rows in one float32 block, and a progress callback. */
import { setImmediate } from 'node:timers/promises';

export interface Matrix {
  /** rows x width, row-major: the values the ONNX graph will take. */
  X: Float32Array;
  y: Uint8Array;
  rows: number;
  width: number;
}

export type Progress = (report: { step: number; of: number; train_log_loss: number }) => Promise<void>;

/**
 * Training runs on the trainer's event loop: between steps it lets the Kafka heartbeats and the
 * job lease renewal run.
 */
export const yieldToEventLoop = (): Promise<void> => setImmediate();

/** Whether a standard deviation is no more than the rounding of summing a constant column in float64. */
export const constantSpread = (std: number, mean: number) => !(std > 1e-9 * Math.max(1, Math.abs(mean)));
