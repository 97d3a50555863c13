/**
 * The catalog processor's genre models: for each model a taxonomy names, the registry's active
 * version, loaded from Postgres and swapped without a restart when another version is activated
 * (`millrace train ... --activate`, the models API, a genre model job). Each model is followed
 * once and shared by every taxonomy naming it. On first use of the platform's `catalog-genre` the
 * bundled model (CATALOG_GENRE_MODEL_DIR) is registered, and activated if the registry has none.
 */
import { loadConfig } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import type { Pool } from '../../core/postgres.ts';
import { followActiveVersion, registerBundledVersion, type ActiveVersionWatch } from '../../models/model-registry.ts';
import { PLATFORM_GENRE_MODEL } from '../../domain/catalog/genre-models.ts';
import { GenreModelUnavailableError, loadGenreModel, type GenreModel } from './genre-model.ts';
import { startOnce } from '../../core/start-once.ts';

export const GENRE_MODEL_ID = PLATFORM_GENRE_MODEL;

/** A replaced model is released after this long: batches that took it before the swap finish first. */
const RELEASE_AFTER_MS = 60_000;

export interface ActiveGenreModel {
  /** The model in use (waits for the first load). */
  get(): Promise<GenreModel>;
  close(): Promise<void>;
}

export function activeGenreModel(
  db: Pool,
  modelId: string = GENRE_MODEL_ID,
  options: { checkIntervalMs?: number } = {},
): ActiveGenreModel {
  let current: GenreModel | undefined;
  let watch: ActiveVersionWatch | undefined;
  const log = createLogger('catalog-genre-model', { model_id: modelId });
  // a failed start is retried by the next batch (Postgres away, say)
  const start = startOnce(async () => {
    if (modelId === GENRE_MODEL_ID)
      await registerBundledVersion(db, loadConfig().CATALOG_GENRE_MODEL_DIR, 'catalog genre classifier (bundled)');
    watch = await followActiveVersion(
      db,
      modelId,
      (dir) => loadGenreModel(dir, { intraOpNumThreads: 1, interOpNumThreads: 1 }),
      (next) => {
        const previous = current;
        current = next;
        if (previous) setTimeout(() => void previous.release().catch(() => undefined), RELEASE_AFTER_MS).unref();
      },
      { log, checkIntervalMs: options.checkIntervalMs },
    );
  });
  return {
    async get() {
      await start();
      if (!current) throw new GenreModelUnavailableError(`the model registry has no active version of ${modelId}`);
      return current;
    },
    async close() {
      await watch?.close();
      await current?.release();
      current = undefined;
    },
  };
}

export interface ActiveGenreModels {
  /** The active version of `modelId` (waits for its first load). */
  get(modelId: string): Promise<GenreModel>;
  close(): Promise<void>;
}

/** Every genre model the processor is asked for, each followed from its first use on. */
export function activeGenreModels(db: Pool, options: { checkIntervalMs?: number } = {}): ActiveGenreModels {
  const followed = new Map<string, ActiveGenreModel>();
  return {
    get(modelId) {
      let model = followed.get(modelId);
      if (!model) followed.set(modelId, (model = activeGenreModel(db, modelId, options)));
      return model.get();
    },
    async close() {
      await Promise.all([...followed.values()].map((m) => m.close()));
      followed.clear();
    },
  };
}
