/** Merchants' taxonomies for the catalog classifier: each PUT makes a new version. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { loadTaxonomy, saveTaxonomy } from '../../domain/catalog/taxonomy-store.ts';
import { taxonomySchema } from '../../domain/catalog/taxonomy.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { bearer, errorResponses } from '../schemas.ts';
import type { ApiDeps, Guards } from '../deps.ts';

const IdParam = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, - and _, up to 64'),
});
const ReferenceSchema = z.object({ text: z.string().min(1).max(10_000), genre: z.string().min(1) });
const BodySchema = taxonomySchema
  .extend({ references: z.array(ReferenceSchema).max(100_000).default([]) })
  .openapi('TaxonomyInput');
const StoredSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    genres: z.array(z.string()),
    attributes: z.record(z.string(), z.array(z.string())),
    references: z.number().int(),
  })
  .openapi('Taxonomy');

export function registerTaxonomies(app: OpenAPIHono<AuthEnv>, { db }: Pick<ApiDeps, 'db'>, guards: Guards): void {
  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/taxonomies/{id}',
      tags: ['catalog'],
      summary: 'Save a taxonomy (genres, attribute values, labelled reference items) as its next version',
      security: bearer,
      middleware: guards.ingest,
      request: { params: IdParam, body: { required: true, content: { 'application/json': { schema: BodySchema } } } },
      responses: {
        201: { description: 'the new version', content: { 'application/json': { schema: StoredSchema } } },
        ...errorResponses(400, 401, 403, 429),
      },
    }),
    async (c) => {
      const { references, ...taxonomy } = c.req.valid('json');
      const saved = await saveTaxonomy(db, c.get('principal').tenantId, c.req.valid('param').id, taxonomy, references);
      return c.json(
        { id: saved.id, version: saved.version, ...saved.taxonomy, references: saved.references.length },
        201,
      );
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/taxonomies/{id}',
      tags: ['catalog'],
      summary: 'A taxonomy: the latest version, or ?version=N',
      security: bearer,
      middleware: guards.read,
      request: { params: IdParam, query: z.object({ version: z.coerce.number().int().min(1).optional() }) },
      responses: {
        200: { description: 'the taxonomy', content: { 'application/json': { schema: StoredSchema } } },
        ...errorResponses(400, 401, 403, 404, 429),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { version } = c.req.valid('query');
      const stored = await loadTaxonomy(db, c.get('principal').tenantId, version ? `${id}@${version}` : id);
      return c.json(
        { id: stored.id, version: stored.version, ...stored.taxonomy, references: stored.references.length },
        200,
      );
    },
  );
}
