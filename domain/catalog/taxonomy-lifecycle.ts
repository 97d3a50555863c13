/**
 * A tenant's taxonomies as a list (the latest version of each, newest first, keyset pages) and
 * their deletion: every version with its reference items, refused while an upload being processed
 * classifies with it. Rows already classified keep the taxonomy's name (catalog_rows.taxonomy):
 * they belong to their upload, deleted with it.
 */
import { MillraceError } from '../../core/errors.ts';
import { cursorTime, keysetPage, pageOf } from '../../core/keyset-pages.ts';
import { inTransaction, type Pool } from '../../core/postgres.ts';
import { PLATFORM_GENRE_MODEL } from './genre-models.ts';
import { TaxonomyNotFoundError } from './taxonomy-store.ts';
import { taxonomySchema, type Taxonomy } from './taxonomy.ts';

/** A taxonomy something still uses: a 409 naming what. */
export class TaxonomyInUseError extends MillraceError {
  override name = 'TaxonomyInUseError';
  constructor(message: string) {
    super(message, { code: 'conflict', status: 409, details: { field: 'id' } });
  }
}

export interface ListedTaxonomy {
  id: string;
  version: number;
  taxonomy: Taxonomy;
  /** reference items of this version */
  references: number;
  model: string;
  created_at: Date;
}

/** A page of the tenant's taxonomies, each at its latest version, the most recently saved first. */
export async function listTaxonomies(
  db: Pool,
  tenantId: string,
  query: { limit: number; cursor?: string },
): Promise<{ taxonomies: ListedTaxonomy[]; next_cursor: string | null }> {
  const page = keysetPage('created_at', 'id', query, 2);
  const { rows } = await db.query<{
    id: string;
    version: number;
    body: unknown;
    model_id: string | null;
    references: number;
    created_at: Date;
    page_at: string;
    page_key: string;
  }>(
    `SELECT t.*, ${cursorTime('created_at')} AS page_at, id AS page_key,
            (SELECT count(*)::int FROM catalog_references r WHERE r.tenant_id = $1 AND r.taxonomy_id = t.id AND r.version = t.version) AS "references"
       FROM (SELECT DISTINCT ON (id) id, version, body, model_id, created_at FROM catalog_taxonomies
              WHERE tenant_id = $1 ORDER BY id, version DESC) t
      WHERE ${page.where} ${page.orderAndLimit}`,
    [tenantId, ...page.params],
  );
  const { items, next_cursor } = pageOf(rows, query.limit);
  return {
    taxonomies: items.map((r) => ({
      id: r.id,
      version: r.version,
      taxonomy: taxonomySchema.parse(r.body),
      references: r.references,
      model: r.model_id ?? PLATFORM_GENRE_MODEL,
      created_at: r.created_at,
    })),
    next_cursor,
  };
}

/**
 * Deletes every version of a taxonomy and their reference items (404: the tenant has none of that
 * id; 409: an upload being processed names it, as `id` or `id@version`).
 */
export async function deleteTaxonomy(db: Pool, tenantId: string, id: string): Promise<void> {
  await inTransaction(db, async (client) => {
    // the save's lock (taxonomy-store.ts): no version appears while this one deletes
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`taxonomy:${tenantId}:${id}`]);
    const { rows: users } = await client.query<{ id: string }>(
      `SELECT id FROM uploads WHERE tenant_id = $1 AND state = 'processing' AND split_part(taxonomy, '@', 1) = $2
        ORDER BY created_at LIMIT 1`,
      [tenantId, id],
    );
    if (users[0])
      throw new TaxonomyInUseError(
        `taxonomy ${id} is used by upload ${users[0].id}, being processed: delete it once the upload is processed`,
      );
    await client.query('DELETE FROM catalog_references WHERE tenant_id = $1 AND taxonomy_id = $2', [tenantId, id]);
    const { rowCount } = await client.query('DELETE FROM catalog_taxonomies WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      id,
    ]);
    if (!rowCount)
      throw new TaxonomyNotFoundError(`taxonomy ${id} does not exist for tenant ${tenantId}`, { status: 404 });
  });
}
