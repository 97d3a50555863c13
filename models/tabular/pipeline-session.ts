/**
 * Predictions from raw rows with a model whose graph holds its feature pipeline (an MLP trained
 * by models/tabular/train-rows.ts): the rows are checked and fed as the graph's raw inputs, and
 * the outputs read back per row. What an online, batch or streaming caller needs, and what
 * training itself uses to check the graph.
 */
import { InferenceSession } from 'onnxruntime-node';
import { onnxFeeds, valueFeeds, type FeaturePipeline, type RawRow } from './feature-pipeline.ts';
import type { Tensor } from 'onnxruntime-node';

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
  run(rows: readonly RawRow[]): Promise<PipelineOutputs> {
    return this.runFeeds(onnxFeeds(this.spec.pipeline, rows));
  }

  private async runFeeds(feeds: Record<string, Tensor>): Promise<PipelineOutputs> {
    const out = await this.session.run(feeds);
    if (out.prediction) return { prediction: out.prediction.data as Float32Array };
    return { probabilities: out.probabilities!.data as Float32Array, labels: out.label!.data as string[] };
  }

  /** One answer per row: the predicted value, or the class with every class's probability. */
  async predict(rows: readonly RawRow[]): Promise<PipelinePrediction[]> {
    return this.answers(await this.run(rows));
  }

  /** predict, for rows already turned into input values (feature-pipeline.ts inputValues). */
  async predictValues(values: readonly (number | string)[][]): Promise<PipelinePrediction[]> {
    return this.answers(await this.runFeeds(valueFeeds(this.spec.pipeline, values)));
  }

  private answers(out: PipelineOutputs): PipelinePrediction[] {
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
