/** Merchants' taxonomies for the catalog classifier: each PUT makes a new version. */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { PLATFORM_GENRE_MODEL } from '../../domain/catalog/genre-models.ts';
import { loadTaxonomy, saveTaxonomy, type StoredTaxonomy } from '../../domain/catalog/taxonomy-store.ts';
import { taxonomySchema } from '../../domain/catalog/taxonomy.ts';
import { deleteTaxonomy, listTaxonomies } from '../../domain/catalog/taxonomy-lifecycle.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody, ListPageQuery } from '../schemas.ts';
import type { ApiDeps, Guards } from '../deps.ts';

const route = guardedRoutes('catalog');

const IdParam = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, - and _, up to 64'),
});
const ReferenceSchema = z.object({ text: z.string().min(1).max(10_000), genre: z.string().min(1) });
const ModelField = z
  .string()
  .min(1)
  .max(200)
  .openapi({
    description: `the genre model its rows are classified with: the tenant's own (\`<tenant>.<name>\`, POST /v1/genre-model-jobs) or a platform model; default ${PLATFORM_GENRE_MODEL}`,
    example: 'acme.films',
  });
const BodySchema = taxonomySchema
  .extend({ references: z.array(ReferenceSchema).max(100_000).default([]), model: ModelField.optional() })
  .openapi('TaxonomyInput');
const StoredSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    genres: z.array(z.string()),
    attributes: z.record(z.string(), z.array(z.string())),
    references: z.number().int(),
    model: ModelField,
  })
  .openapi('Taxonomy');

const taxonomyJson = (stored: StoredTaxonomy) => ({
  id: stored.id,
  version: stored.version,
  ...stored.taxonomy,
  references: stored.references.length,
  model: stored.model,
});

const ListedSchema = StoredSchema.extend({
  created_at: z.string().openapi({ description: 'when this version was saved' }),
});

export function registerTaxonomies(app: OpenAPIHono<AuthEnv>, { db }: Pick<ApiDeps, 'db'>, guards: Guards): void {
  app.openapi(
    route.get('/v1/taxonomies', {
      summary:
        "The tenant's taxonomies, each at its latest version, the most recently saved first; next_cursor goes on",
      middleware: guards.read,
      request: { query: ListPageQuery },
      responses: {
        200: json(
          z.object({ taxonomies: z.array(ListedSchema), next_cursor: z.string().nullable() }),
          'a page of taxonomies',
        ),
      },
      errors: [400],
    }),
    async (c) => {
      const page = await listTaxonomies(db, c.get('principal').tenantId, c.req.valid('query'));
      return c.json(
        {
          taxonomies: page.taxonomies.map(({ created_at, references, ...stored }) => ({
            ...taxonomyJson({ ...stored, references: [] }),
            references,
            created_at: created_at.toISOString(),
          })),
          next_cursor: page.next_cursor,
        },
        200,
      );
    },
  );
  app.openapi(
    route.delete('/v1/taxonomies/{id}', {
      summary:
        'Delete a taxonomy: every version and its reference items. One an upload being processed classifies with is a 409; rows already classified keep its name',
      middleware: guards.ingest,
      request: { params: IdParam },
      responses: { 204: { description: 'deleted' } },
      errors: [400, 404, 409],
    }),
    async (c) => {
      await deleteTaxonomy(db, c.get('principal').tenantId, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
  app.openapi(
    route.put('/v1/taxonomies/{id}', {
      summary:
        'Save a taxonomy (genres, attribute values, labelled reference items, the genre model it classifies with) as its next version',
      middleware: guards.ingest,
      request: { params: IdParam, body: jsonBody(BodySchema) },
      responses: { 201: json(StoredSchema, 'the new version') },
      errors: [400, 404, 409],
    }),
    async (c) => {
      const { references, model, ...taxonomy } = c.req.valid('json');
      const saved = await saveTaxonomy(db, c.get('principal').tenantId, c.req.valid('param').id, taxonomy, references, {
        model,
      });
      return c.json(taxonomyJson(saved), 201);
    },
  );
  app.openapi(
    route.get('/v1/taxonomies/{id}', {
      summary: 'A taxonomy: the latest version, or ?version=N',
      middleware: guards.read,
      request: { params: IdParam, query: z.object({ version: z.coerce.number().int().min(1).optional() }) },
      responses: { 200: json(StoredSchema, 'the taxonomy') },
      errors: [400, 404],
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { version } = c.req.valid('query');
      const stored = await loadTaxonomy(db, c.get('principal').tenantId, version ? `${id}@${version}` : id);
      return c.json(taxonomyJson(stored), 200);
    },
  );
  app.openapi(
    route.get('/v1/taxonomies/{id}/references', {
      summary:
        "A taxonomy version's labelled reference items (the latest version, or ?version=N), as a save takes them",
      middleware: guards.read,
      request: { params: IdParam, query: z.object({ version: z.coerce.number().int().min(1).optional() }) },
      responses: {
        200: json(
          z.object({ id: z.string(), version: z.number().int(), references: z.array(ReferenceSchema) }),
          'the reference items',
        ),
      },
      errors: [400, 404],
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { version } = c.req.valid('query');
      const stored = await loadTaxonomy(db, c.get('principal').tenantId, version ? `${id}@${version}` : id);
      const references = stored.references.map(({ text, genre }) => ({ text, genre }));
      return c.json({ id: stored.id, version: stored.version, references }, 200);
    },
  );
}
