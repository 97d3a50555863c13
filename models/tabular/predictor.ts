/**
 * Online predictions with the active version of a tabular model. Each model is loaded on its
 * first request and then follows the registry (followActiveVersion): an activation switches it
 * without a restart, the previous version answering until the new one has loaded. Requests that
 * arrive within a short window share one ONNX run.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { Logger } from '../../core/logger.ts';
import { metrics } from '../../core/metrics.ts';
import type { Pool } from '../../core/postgres.ts';
import { followActiveVersion, type ActiveVersionWatch } from '../model-registry.ts';
import { encodedWidth, encodeObjects, EncodingError, rowProblem } from './encoding.ts';
import { inputValues, type RawRow } from './feature-pipeline.ts';
import { PipelineSession, type PipelineModelSpec, type PipelinePrediction } from './pipeline-session.ts';
import { MODEL_FILE, type TabularManifest } from './version.ts';
import { MillraceError } from '../../core/errors.ts';

/** No servable model of that id for the caller. */
export class NoModelError extends MillraceError {
  override name = 'NoModelError';
  constructor(message: string) {
    super(message, { code: 'not_found', status: 404, details: { field: 'id' } });
  }
}

/** A classifier on encoded features (a label rule over whitelisted tables) answers label 0 or 1 with P(1). */
export interface BinaryPrediction {
  label: 0 | 1;
  probability: number;
}

/** A model taking raw rows answers a class with each class's probability, or a value. */
export type Prediction = BinaryPrediction | PipelinePrediction;

/** The manifests the predictor serves: encoded features (tabular-classifier) or raw rows (tabular-mlp). */
export type ServedManifest =
  TabularManifest | (Omit<TabularManifest, 'kind' | 'encoding'> & { kind: 'tabular-mlp' } & PipelineModelSpec);

/** Largest batch of rows one ONNX run takes; more wait for the next. */
const MAX_BATCH_ROWS = 4096;

/**
 * How one kind of model turns rows into predictions: `prepare` checks a request's rows (throwing
 * the EncodingError that names `<prefix><feature>`) and turns them into its inputs, `run` scores
 * the prepared inputs of several requests in one ONNX run.
 */
interface RowScorer<P> {
  prepare(rows: readonly RawRow[], prefix: (i: number) => string): P;
  run(batch: readonly P[], rows: number): Promise<Prediction[]>;
  release(): Promise<void>;
}

function encodedScorer(manifest: TabularManifest, session: InferenceSession): RowScorer<Float32Array> {
  const width = encodedWidth(manifest.encoding);
  return {
    prepare: (rows, prefix) => {
      rows.forEach((row, i) => {
        const problem = rowProblem(manifest.encoding, row, prefix(i));
        if (problem) throw problem;
      });
      return encodeObjects(manifest.encoding, rows);
    },
    run: async (batch, rows) => {
      const X = new Float32Array(rows * width);
      let at = 0;
      for (const encoded of batch) {
        X.set(encoded, at);
        at += encoded.length;
      }
      const out = await session.run({ features: new Tensor('float32', X, [rows, width]) });
      const probabilities = out.probabilities!.data as Float32Array;
      const labels = out.label!.data as BigInt64Array;
      return Array.from({ length: rows }, (_, i) => ({
        label: Number(labels[i]) as 0 | 1,
        probability: probabilities[2 * i + 1]!,
      }));
    },
    release: () => session.release(),
  };
}

function rawScorer(spec: PipelineModelSpec, session: PipelineSession): RowScorer<(number | string)[][]> {
  return {
    prepare: (rows, prefix) => rows.map((row, i) => inputValues(spec.pipeline, row, prefix(i))),
    run: (batch, rows) => {
      const values = batch.flat();
      if (values.length !== rows) throw new Error(`${values.length} prepared rows for ${rows}`);
      return session.predictValues(values);
    },
    release: () => session.release(),
  };
}

interface Waiting<P> {
  prepared: P;
  count: number;
  resolve: (predictions: Prediction[]) => void;
  reject: (error: Error) => void;
}

/** One loaded version: its scorer (none when the version is no tabular model) and the batch being gathered for it. */
class LoadedVersion<P = unknown> {
  private waiting: Waiting<P>[] = [];
  private waitingRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = Promise.resolve();
  /** Batches holding this version (POST /v1/models/{id}/batch): it is released only once they let go. */
  private holds = 0;
  private retiring: (() => void) | undefined;

  constructor(
    readonly manifest: ServedManifest,
    private readonly scorer: RowScorer<P> | undefined,
    private readonly windowMs: number,
  ) {}

  get servable(): boolean {
    return this.scorer !== undefined;
  }

  /** The problem with one row of a batch, its fields named as they are (no `rows.<i>.`); undefined when it scores. */
  problem(row: RawRow): EncodingError | undefined {
    try {
      this.scorer!.prepare([row], () => '');
      return undefined;
    } catch (error) {
      if (error instanceof EncodingError) return error;
      throw error;
    }
  }

  predict(rows: readonly RawRow[]): Promise<Prediction[]> {
    const prepared = this.scorer!.prepare(rows, (i) => `rows.${i}.`);
    return new Promise((resolve, reject) => {
      this.waiting.push({ prepared, count: rows.length, resolve, reject });
      this.waitingRows += rows.length;
      if (this.waitingRows >= MAX_BATCH_ROWS) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    const total = this.waitingRows;
    this.waiting = [];
    this.waitingRows = 0;
    if (batch.length === 0) return;
    metrics.batchSize.observe({ role: 'predict', name: this.manifest.id }, total);
    // one run at a time per version: ONNX Runtime would queue them anyway, this keeps the order
    this.running = this.running.then(async () => {
      try {
        const predictions = await this.scorer!.run(
          batch.map((w) => w.prepared),
          total,
        );
        let row = 0;
        for (const w of batch) {
          w.resolve(predictions.slice(row, row + w.count));
          row += w.count;
        }
      } catch (error) {
        for (const w of batch) w.reject(error as Error);
      }
    });
  }

  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0) this.retiring?.();
    };
  }

  /** Releases the session once nothing holds it and the batches already gathered have run. */
  async retire(): Promise<void> {
    if (this.holds > 0) await new Promise<void>((resolve) => (this.retiring = resolve));
    this.flush();
    await this.running;
    await this.scorer?.release();
  }
}

interface Followed {
  current?: LoadedVersion;
  watch: ActiveVersionWatch;
}

export class TabularPredictors {
  private readonly models = new Map<string, Promise<Followed>>();
  private readonly owners = new Map<string, Promise<string | null>>();

  constructor(
    private readonly db: Pool,
    private readonly log: Logger,
    private readonly windowMs: number,
  ) {}

  /** Predicts with the active version of `modelId`, which must be one of `tenantId`'s tabular models. */
  async predict(
    modelId: string,
    tenantId: string,
    rows: readonly RawRow[],
  ): Promise<{ version: string; predictions: Prediction[] }> {
    await this.checkOwner(modelId, tenantId);
    const loaded = this.servable(await this.follow(modelId), modelId);
    return { version: loaded.manifest.version, predictions: await loaded.predict(rows) };
  }

  /**
   * The active version of `modelId` for a batch: it stays usable until `release`, even if another
   * version is activated meanwhile, so every row of the batch is scored by one version.
   */
  async hold(
    modelId: string,
    tenantId: string,
  ): Promise<{
    version: string;
    /** The problem with one row, its fields named as they are; undefined when it scores. */
    problem(row: RawRow): EncodingError | undefined;
    predict(rows: readonly RawRow[]): Promise<Prediction[]>;
    release(): void;
  }> {
    await this.checkOwner(modelId, tenantId);
    const loaded = this.servable(await this.follow(modelId), modelId);
    const release = loaded.hold();
    return {
      version: loaded.manifest.version,
      problem: (row) => loaded.problem(row),
      predict: (rows) => loaded.predict(rows),
      release,
    };
  }

  /**
   * Another tenant's model is no model here, in the words of one that does not exist, and it is
   * checked before anything of it is loaded. A model's owner never changes: read once.
   */
  private async checkOwner(modelId: string, tenantId: string): Promise<void> {
    let owner = this.owners.get(modelId);
    if (!owner) {
      owner = this.db
        .query<{ tenant_id: string | null }>('SELECT tenant_id FROM models WHERE id = $1', [modelId])
        .then(({ rows }) =>
          rows[0] ? rows[0].tenant_id : Promise.reject(new NoModelError(`no model "${modelId}" in the registry`)),
        );
      owner.catch(() => this.owners.delete(modelId)); // unknown now, perhaps registered by the next request
      this.owners.set(modelId, owner);
    }
    const tenant = await owner;
    if (tenant !== null && tenant !== tenantId) throw new NoModelError(`no model "${modelId}" in the registry`);
  }

  /** The version that answers; whose model it is, checkOwner has said. */
  private servable(followed: Followed, modelId: string): LoadedVersion {
    const loaded = followed.current;
    if (!loaded) throw new NoModelError(`model "${modelId}" has no active version`);
    // one that is no tabular model (finance's) is no model here
    if (!loaded.servable) throw new NoModelError(`no tabular model "${modelId}" for this tenant`);
    return loaded;
  }

  private follow(modelId: string): Promise<Followed> {
    let followed = this.models.get(modelId);
    if (!followed) {
      followed = this.startFollowing(modelId);
      followed.catch(() => this.models.delete(modelId)); // the next request tries again
      this.models.set(modelId, followed);
    }
    return followed;
  }

  private async startFollowing(modelId: string): Promise<Followed> {
    const followed = {} as Followed;
    followed.watch = await followActiveVersion(
      this.db,
      modelId,
      async (dir) => {
        const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as ServedManifest;
        if (manifest.kind !== 'tabular-classifier' && manifest.kind !== 'tabular-mlp')
          return new LoadedVersion(manifest, undefined, this.windowMs); // finance's, say: no model.onnx to load
        const onnx = await readFile(path.join(dir, MODEL_FILE));
        if (manifest.kind === 'tabular-mlp')
          return new LoadedVersion(
            manifest,
            rawScorer(manifest, await PipelineSession.load(onnx, manifest)),
            this.windowMs,
          );
        const session = await InferenceSession.create(onnx, { executionMode: 'sequential', intraOpNumThreads: 1 });
        return new LoadedVersion(manifest, encodedScorer(manifest, session), this.windowMs);
      },
      (next) => {
        const previous = followed.current;
        followed.current = next;
        if (previous)
          void previous
            .retire()
            .catch((error: Error) =>
              this.log.warn({ model_id: modelId, err: error }, 'cannot release the previous version'),
            );
      },
      { log: this.log },
    );
    return followed;
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled(this.models.values());
    this.models.clear();
    for (const result of all) {
      if (result.status !== 'fulfilled') continue;
      await result.value.watch.close();
      await result.value.current?.retire();
    }
  }
}
