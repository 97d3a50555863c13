/**
 * Predictions from raw rows with a model whose graph holds its feature pipeline (an MLP trained
 * by models/tabular/train-rows.ts): the rows are checked and fed as the graph's raw inputs, and
 * the outputs read back per row. What an online, batch or streaming caller needs, and what
 * training itself uses to check the graph.
 */
import { InferenceSession } from 'onnxruntime-node';
import { onnxFeeds, type FeaturePipeline, type RawRow } from './feature-pipeline.ts';

/** What of a version's manifest a session needs. */
export interface PipelineModelSpec {
  pipeline: FeaturePipeline;
  /** Classification: the class names, in the order of the probabilities. */
  classes?: string[];
}

export type PipelinePrediction = { label: string; probabilities: Record<string, number> } | { prediction: number };

export interface PipelineOutputs {
  /** Classification: rows x classes, and the most probable class of each row. */
  probabilities?: Float32Array;
  labels?: string[];
  /** Regression: one value per row. */
  prediction?: Float32Array;
}

export class PipelineSession {
  private constructor(
    private readonly session: InferenceSession,
    readonly spec: PipelineModelSpec,
  ) {}

  static async load(onnx: Uint8Array, spec: PipelineModelSpec): Promise<PipelineSession> {
    return new PipelineSession(
      await InferenceSession.create(onnx, { executionMode: 'sequential', intraOpNumThreads: 1 }),
      spec,
    );
  }

  /** The graph's outputs for the rows; a bad value throws the EncodingError naming `rows.<i>.<feature>`. */
  async run(rows: readonly RawRow[]): Promise<PipelineOutputs> {
    const out = await this.session.run(onnxFeeds(this.spec.pipeline, rows));
    if (out.prediction) return { prediction: out.prediction.data as Float32Array };
    return { probabilities: out.probabilities!.data as Float32Array, labels: out.label!.data as string[] };
  }

  /** One answer per row: the predicted value, or the class with every class's probability. */
  async predict(rows: readonly RawRow[]): Promise<PipelinePrediction[]> {
    const out = await this.run(rows);
    if (out.prediction) return Array.from(out.prediction, (prediction) => ({ prediction }));
    const classes = this.spec.classes!;
    return out.labels!.map((label, r) => ({
      label,
      probabilities: Object.fromEntries(classes.map((c, k) => [c, out.probabilities![r * classes.length + k]!])),
    }));
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
