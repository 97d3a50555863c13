/**
 * How a route module declares a guarded route for /openapi.json, as `route.get(path, spec)`: the
 * resource's tag, Bearer security and the error answers every guarded route can give (401, 403,
 * 429) are filled in, so a declaration names only what is its own: summary, request, answers, and
 * its other error statuses (`errors`). A POST or PUT also documents the Idempotency-Key header and
 * its 409 and 422 (api/idempotency.ts), unless it says `idempotent: false`.
 */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import { bearer, errorResponses, IdempotencyKeyHeaders, type ErrorStatus } from './schemas.ts';

/** What every guarded route can answer: bad credentials, a role that may not, a rate limit. */
const GUARDED: readonly ErrorStatus[] = [401, 403, 429];

type RouteSpec = Omit<RouteConfig, 'method' | 'path' | 'tags' | 'security'> & {
  errors?: readonly ErrorStatus[];
  /** a POST or PUT takes an Idempotency-Key unless false: a streamed body, or an answer never to be stored (api/idempotency.ts) */
  idempotent?: boolean;
};

/**
 * What a route taking an Idempotency-Key adds: the header, and its 409 (still running) and 422
 * (reused). Typed as the route it was: the api/idempotency.ts middleware reads the header, never a handler.
 */
const withIdempotencyKey = <R extends Omit<RouteSpec, 'idempotent'>>({ request, errors = [], ...spec }: R): R =>
  ({ ...spec, request: { ...request, headers: IdempotencyKeyHeaders }, errors: [...errors, 409, 422] }) as unknown as R;

const declare =
  <M extends RouteConfig['method']>(method: M, tag: string) =>
  <P extends string, R extends RouteSpec>(path: P, { idempotent = true, ...spec }: R) => {
    const {
      summary,
      errors = [],
      responses,
      ...own
    } = idempotent && (method === 'post' || method === 'put') ? withIdempotencyKey(spec) : spec;
    // the keys in the order the document shows them: tags, summary, security, then the route's own
    return createRoute({
      method,
      path,
      tags: [tag],
      summary,
      security: bearer,
      ...own,
      // typed as the route's own answers: a handler returns those, and throws the errors
      responses: { ...errorResponses(...GUARDED, ...errors), ...responses } as R['responses'],
    });
  };

type ItemRouteSpec = Omit<RouteSpec, 'request'> & { request?: Omit<NonNullable<RouteConfig['request']>, 'params'> };
type Params = NonNullable<NonNullable<RouteConfig['request']>['params']>;

const declareItem =
  <M extends RouteConfig['method'], S extends Params>(
    method: M,
    tag: string,
    params: S,
    itemErrors: readonly ErrorStatus[],
  ) =>
  <P extends string, R extends ItemRouteSpec>(path: P, { request, errors = [], ...spec }: R) =>
    declare(method, tag)(path, {
      ...spec,
      request: { params, ...request } as { params: S } & R['request'],
      errors: [...itemErrors, ...errors],
    } as Omit<R, 'request'> & { request: { params: S } & R['request'] });

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

/**
 * The route builders of one item of a resource (an upload, a job): every route names it by the
 * same path parameters, and answers the same errors for a bad or unknown one (`errors`, besides
 * each route's own).
 *
 * @example
 * ```ts
 * const upload = itemRoutes('catalog', IdParams, [400, 404]);
 * const columnsRoute = upload.get('/v1/uploads/{id}/columns', { summary: '...', responses: { 200: json(Columns, 'columns') } });
 * ```
 */
export function itemRoutes<S extends Params>(tag: string, params: S, errors: readonly ErrorStatus[]) {
  return {
    get: declareItem('get', tag, params, errors),
    post: declareItem('post', tag, params, errors),
    put: declareItem('put', tag, params, errors),
    delete: declareItem('delete', tag, params, errors),
  };
}
