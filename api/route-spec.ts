/**
 * How a route module declares a guarded route for /openapi.json, as `route.get(path, spec)`: the
 * resource's tag, Bearer security and the error answers every guarded route can give (401, 403,
 * 429) are filled in, so a declaration names only what is its own: summary, request, answers, and
 * its other error statuses (`errors`).
 */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import { bearer, errorResponses, type ErrorStatus } from './schemas.ts';

/** What every guarded route can answer: bad credentials, a role that may not, a rate limit. */
const GUARDED: readonly ErrorStatus[] = [401, 403, 429];

type RouteSpec = Omit<RouteConfig, 'method' | 'path' | 'tags' | 'security'> & { errors?: readonly ErrorStatus[] };

const declare =
  <M extends RouteConfig['method']>(method: M, tag: string) =>
  <P extends string, R extends RouteSpec>(path: P, { summary, errors = [], responses, ...own }: R) =>
    // the keys in the order the document shows them: tags, summary, security, then the route's own
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

/**
 * The route builders of one tag, by method.
 *
 * @example
 * ```ts
 * const route = guardedRoutes('catalog');
 * const getRoute = route.get('/v1/uploads/{id}', {
 *   summary: 'An upload and its progress',
 *   request: { params: IdParams },
 *   responses: { 200: json(UploadSchema, 'the upload') },
 *   errors: [400, 404],
 * });
 * ```
 */
export function guardedRoutes(tag: string) {
  return {
    get: declare('get', tag),
    post: declare('post', tag),
    put: declare('put', tag),
    delete: declare('delete', tag),
  };
}
