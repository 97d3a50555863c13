/** A loaded tabular model version for scoring whole batches in-process (processors/model-scoring). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { Pool } from '../../core/postgres.ts';
import { loadVersion, ModelRegistryError } from '../model-registry.ts';
import type { RawValue } from './dataset-spec.ts';
import { encodedWidth, encodeInto } from './encoding.ts';
import type { BinaryPrediction } from './predictor.ts';
import { MODEL_FILE, type TabularManifest } from './version.ts';

export class TabularScorer {
  private constructor(
    readonly manifest: TabularManifest,
    private readonly session: InferenceSession,
  ) {}

  /** Loads a version from the registry; one that is no tabular classifier is refused. */
  static async load(db: Pool, modelId: string, version: string): Promise<TabularScorer> {
    return loadVersion(db, modelId, version, async (dir) => {
      const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as TabularManifest;
      if (manifest.kind !== 'tabular-classifier')
        throw new ModelRegistryError(`${modelId} ${version} is no tabular classifier`);
      const session = await InferenceSession.create(await readFile(path.join(dir, MODEL_FILE)), {
        executionMode: 'sequential',
        intraOpNumThreads: 1,
      });
      return new TabularScorer(manifest, session);
    });
  }

  get version(): string {
    return this.manifest.version;
  }

  /** One ONNX run for all rows, each its features in the manifest encoding's order. */
  async score(rows: readonly RawValue[][]): Promise<BinaryPrediction[]> {
    if (rows.length === 0) return [];
    const width = encodedWidth(this.manifest.encoding);
    const X = new Float32Array(rows.length * width);
    rows.forEach((row, i) => encodeInto(this.manifest.encoding, row, X, i * width));
    const out = await this.session.run({ features: new Tensor('float32', X, [rows.length, width]) });
    const probabilities = out.probabilities!.data as Float32Array;
    const labels = out.label!.data as BigInt64Array;
    return rows.map((_, i) => ({ label: Number(labels[i]) as 0 | 1, probability: probabilities[2 * i + 1]! }));
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
