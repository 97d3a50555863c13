/**
 * Which genre model a taxonomy classifies with: the platform's `catalog-genre` unless it names
 * another the tenant sees (its own `<tenant>.<name>`, or a platform model). Another tenant's model
 * is unknown in the same words as one that does not exist.
 */
import type { Pool } from '../../core/postgres.ts';
import { MillraceError } from '../../core/errors.ts';
import { activeVersion, getVersion, visibleModel } from '../../models/model-registry.ts';

/** The platform's genre model (models/catalog-genre): what a taxonomy naming no model uses. */
export const PLATFORM_GENRE_MODEL = 'catalog-genre';

/** The model a taxonomy names cannot classify its rows. */
export class GenreModelError extends MillraceError {
  override name = 'GenreModelError';
  constructor(message: string, status: 400 | 409) {
    super(message, { code: status === 409 ? 'conflict' : 'invalid_model', status, details: { field: 'model' } });
  }
}

/**
 * Checks that `tenantId` may classify with `modelId`: the model is visible to it (UnknownModelError,
 * 404, otherwise), has a production version, and that version is a text classifier.
 */
export async function checkGenreModel(db: Pool, tenantId: string, modelId: string): Promise<void> {
  await visibleModel(db, modelId, { tenantId });
  const active = await activeVersion(db, modelId);
  if (!active) throw new GenreModelError(`${modelId} has no version in production`, 409);
  const { manifest } = await getVersion(db, modelId, active.version);
  if (manifest.kind !== 'text-classifier')
    throw new GenreModelError(
      `${modelId} is not a text classifier (its production version is of kind ${JSON.stringify(manifest.kind ?? null)})`,
      400,
    );
}
