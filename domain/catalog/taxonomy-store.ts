/**
 * Taxonomies in Postgres: saving one makes a new version (with its reference items and the genre
 * model it names, in one transaction); reading resolves `id` (the latest) or `id@version`.
 */
import { inTransaction, type Pool } from '../../core/postgres.ts';
import { taxonomySchema, type Taxonomy } from './taxonomy.ts';
import type { Reference } from './reference-store.ts';
import { MillraceError } from '../../core/errors.ts';
import { checkGenreModel, PLATFORM_GENRE_MODEL } from './genre-models.ts';

export interface StoredTaxonomy {
  id: string;
  version: number;
  taxonomy: Taxonomy;
  references: Reference[];
  /** The genre model its rows are classified with (domain/catalog/genre-models.ts). */
  model: string;
}

/** A taxonomy reference that is malformed or names a genre the taxonomy lacks (400), or a taxonomy that does not exist (404). */
export class TaxonomyNotFoundError extends MillraceError {
  override name = 'TaxonomyNotFoundError';
  constructor(message: string, options: { status?: 400 | 404 } & ErrorOptions = {}) {
    const { status = 400, ...errorOptions } = options;
    super(message, { ...errorOptions, code: 'taxonomy', status });
  }
}

/** `id` or `id@version`, as uploads name it. */
export function parseTaxonomyRef(ref: string): { id: string; version?: number } {
  const match = /^([a-z0-9][a-z0-9_-]{0,63})(?:@([1-9]\d*))?$/.exec(ref);
  if (!match) throw new TaxonomyNotFoundError(`taxonomy ${JSON.stringify(ref)} is not "id" or "id@version"`);
  return { id: match[1]!, version: match[2] === undefined ? undefined : Number(match[2]) };
}

export async function saveTaxonomy(
  db: Pool,
  tenantId: string,
  id: string,
  taxonomy: Taxonomy,
  references: readonly Reference[],
  options: { model?: string } = {},
): Promise<StoredTaxonomy> {
  // the platform's model is the default, stored as none: a taxonomy follows whatever default there is
  const model = options.model === PLATFORM_GENRE_MODEL ? undefined : options.model;
  if (model !== undefined) await checkGenreModel(db, tenantId, model);
  const unknown = references.find((r) => !taxonomy.genres.includes(r.genre));
  if (unknown)
    throw new TaxonomyNotFoundError(
      `reference "${unknown.text}" has genre ${JSON.stringify(unknown.genre)}, which the taxonomy does not list`,
    );
  return inTransaction(db, async (client) => {
    // serialises concurrent saves of one taxonomy: each gets its own version number
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`taxonomy:${tenantId}:${id}`]);
    const { rows } = await client.query<{ version: number }>(
      `INSERT INTO catalog_taxonomies (tenant_id, id, version, body, model_id)
       SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4 FROM catalog_taxonomies WHERE tenant_id = $1 AND id = $2
       RETURNING version`,
      [tenantId, id, JSON.stringify(taxonomy), model ?? null],
    );
    const version = rows[0]!.version;
    if (references.length > 0) {
      await client.query(
        `INSERT INTO catalog_references (tenant_id, taxonomy_id, version, text, genre)
         SELECT $1, $2, $3, r.text, r.genre FROM jsonb_to_recordset($4::jsonb) AS r(text text, genre text)`,
        [tenantId, id, version, JSON.stringify(references)],
      );
    }
    return { id, version, taxonomy, references: [...references], model: model ?? PLATFORM_GENRE_MODEL };
  });
}

export async function loadTaxonomy(db: Pool, tenantId: string, ref: string): Promise<StoredTaxonomy> {
  const { id, version } = parseTaxonomyRef(ref);
  const { rows } = await db.query<{ version: number; body: unknown; model_id: string | null }>(
    `SELECT version, body, model_id FROM catalog_taxonomies WHERE tenant_id = $1 AND id = $2 AND ($3::int IS NULL OR version = $3)
      ORDER BY version DESC LIMIT 1`,
    [tenantId, id, version ?? null],
  );
  if (!rows[0])
    throw new TaxonomyNotFoundError(`taxonomy ${ref} does not exist for tenant ${tenantId}`, { status: 404 });
  const { rows: references } = await db.query<Reference>(
    'SELECT text, genre FROM catalog_references WHERE tenant_id = $1 AND taxonomy_id = $2 AND version = $3',
    [tenantId, id, rows[0].version],
  );
  return {
    id,
    version: rows[0].version,
    taxonomy: taxonomySchema.parse(rows[0].body),
    references,
    model: rows[0].model_id ?? PLATFORM_GENRE_MODEL,
  };
}
