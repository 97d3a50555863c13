/**
 * Runs an exported text classifier (models/text-classifier/onnx.ts) with onnxruntime-node: a batch
 * of texts is featurised, padded to its longest feature list, and scored in one session.run.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { featurise } from '../../models/text-classifier/features.ts';
import { errorKind } from '../../core/errors.ts';

/**
 * The model a taxonomy names cannot classify: no active version, or one that is no text
 * classifier. Its rows go to the DLQ saying so; another version activated is picked up.
 */
export class GenreModelUnavailableError extends errorKind('GenreModelUnavailableError', {
  code: 'genre_model_unavailable',
}) {}

export interface GenrePrediction {
  label: string;
  confidence: number;
  probabilities: Float32Array;
}

export class GenreModel {
  private constructor(
    private readonly session: InferenceSession,
    readonly labels: string[],
    readonly dimensions: number,
    readonly id: string,
    readonly version: string,
  ) {}

  /** `manifest`: what the export wrote beside the model (onnxruntime-node does not expose a model's metadata). */
  static async load(
    onnxBytes: Uint8Array,
    manifest: { id: string; version: string; labels: string[]; dimensions: number },
    options: InferenceSession.SessionOptions = {},
  ): Promise<GenreModel> {
    const session = await InferenceSession.create(onnxBytes, options);
    return new GenreModel(session, manifest.labels, manifest.dimensions, manifest.id, manifest.version);
  }

  async predict(texts: readonly string[]): Promise<GenrePrediction[]> {
    if (texts.length === 0) return [];
    const features = texts.map((t) => featurise(t, this.dimensions));
    const width = Math.max(1, ...features.map((f) => f.indices.length));
    const indices = new BigInt64Array(texts.length * width);
    const values = new Float32Array(texts.length * width);
    features.forEach((f, row) => {
      f.indices.forEach((index, n) => (indices[row * width + n] = BigInt(index)));
      values.set(f.values, row * width);
    });
    const { probabilities } = await this.session.run({
      indices: new Tensor('int64', indices, [texts.length, width]),
      values: new Tensor('float32', values, [texts.length, width]),
    });
    const p = probabilities!.data as Float32Array;
    const classes = this.labels.length;
    return texts.map((_, row) => {
      const own = p.slice(row * classes, (row + 1) * classes);
      let best = 0;
      for (let c = 1; c < classes; c++) if (own[c]! > own[best]!) best = c;
      return { label: this.labels[best]!, confidence: own[best]!, probabilities: own };
    });
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Loads the model `millrace train text-classifier` wrote into `dir`, checking its sha256. */
export async function loadGenreModel(dir: string, options: InferenceSession.SessionOptions = {}): Promise<GenreModel> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as {
    kind?: string;
    id: string;
    version: string;
    file: string;
    sha256: string;
    labels: string[];
    dimensions: number;
  };
  // a taxonomy may name any model its tenant sees, and a platform model may be of another kind
  if (manifest.kind !== 'text-classifier')
    throw new GenreModelUnavailableError(
      `${manifest.id} ${manifest.version} is not a text classifier (kind ${JSON.stringify(manifest.kind ?? null)})`,
    );
  const bytes = await readFile(path.join(dir, manifest.file));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== manifest.sha256)
    throw new Error(`${dir}/${manifest.file}: sha256 ${sha256} is not the manifest's ${manifest.sha256}`);
  return GenreModel.load(bytes, manifest, options);
}
