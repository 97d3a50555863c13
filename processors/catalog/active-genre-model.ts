/**
 * The catalog processor's genre model: the registry's active version of `catalog-genre`, loaded
 * from Postgres and swapped without a restart when another version is activated (`millrace train
 * ... --activate`, or the models API). On first use the bundled model (CATALOG_GENRE_MODEL_DIR) is
 * registered, and activated if the registry has none.
 */
import { loadConfig } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import type { Pool } from '../../core/postgres.ts';
import { followActiveVersion, registerBundledVersion, type ActiveVersionWatch } from '../../models/model-registry.ts';
import { loadGenreModel, type GenreModel } from './genre-model.ts';
import { startOnce } from '../../core/start-once.ts';

export const GENRE_MODEL_ID = 'catalog-genre';
/** A replaced model is released after this long: batches that took it before the swap finish first. */
const RELEASE_AFTER_MS = 60_000;

export interface ActiveGenreModel {
  /** The model in use (waits for the first load). */
  get(): Promise<GenreModel>;
  close(): Promise<void>;
}

export function activeGenreModel(db: Pool, options: { checkIntervalMs?: number } = {}): ActiveGenreModel {
  let current: GenreModel | undefined;
  let watch: ActiveVersionWatch | undefined;
  const log = createLogger('catalog-genre-model');

  // a failed start is retried by the next batch (Postgres away, say)
  const start = startOnce(async () => {
    await registerBundledVersion(db, loadConfig().CATALOG_GENRE_MODEL_DIR, 'catalog genre classifier (bundled)');
    watch = await followActiveVersion(
      db,
      GENRE_MODEL_ID,
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
      if (!current) throw new Error(`the model registry has no active version of ${GENRE_MODEL_ID}`);
      return current;
    },
    async close() {
      await watch?.close();
      await current?.release();
      current = undefined;
    },
  };
}
