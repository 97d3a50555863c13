/**
 * How a route module declares a guarded route for /openapi.json: the resource's tag, Bearer
 * security and the error answers every guarded route can give (401, 403, 429) are filled in, so a
 * declaration names only what is its own: method, path, summary, request, answers, and its other
 * error statuses (`errors`).
 */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import { bearer, errorResponses, type ErrorStatus } from './schemas.ts';

/** What every guarded route can answer: bad credentials, a role that may not, a rate limit. */
const GUARDED: readonly ErrorStatus[] = [401, 403, 429];

type RouteSpec = Omit<RouteConfig, 'tags' | 'security'> & { errors?: readonly ErrorStatus[] };

/**
 * The route builder of one tag.
 *
 * @example
 * ```ts
 * const route = guardedRoutes('catalog');
 * const getRoute = route({
 *   method: 'get',
 *   path: '/v1/uploads/{id}',
 *   summary: 'An upload and its progress',
 *   request: { params: IdParams },
 *   responses: { 200: json(UploadSchema, 'the upload') },
 *   errors: [400, 404],
 * });
 * ```
 */
export function guardedRoutes(tag: string) {
  // the keys in the order the document shows them: tags, summary, security, then the route's own
  return <R extends RouteSpec>({ method, path, summary, errors = [], responses, ...own }: R) =>
    createRoute({
      method,
      path,
      tags: [tag],
      summary,
      security: bearer,
      ...own,
      // typed as the route's own answers: a handler returns those, and throws the errors
      responses: { ...errorResponses(...GUARDED, ...errors), ...responses } as R['responses'],
    });
}
