/**
 * The Hono app. Every request: metrics -> request id -> access log -> security headers -> body limit ->
 * per-IP rate limit -> CORS; protected routes then: authenticate -> per-caller rate limit ->
 * permission -> Idempotency-Key (POST, PUT) -> validation (zod, the same schemas that generate /openapi.json) -> logic.
 * Every error is JSON `{error, message, field?, request_id}`. The services come built, in one
 * `ApiDeps` (api/compose.ts); this module only wires requests to them.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { metricsRegistry } from '../core/metrics.ts';
import { authenticate, requirePermission, type AuthEnv } from './auth/middleware.ts';
import type { Permission } from './auth/roles.ts';
import type { ApiDeps, Guards } from './deps.ts';
import { docsPage } from './docs.ts';
import { ApiError, errorBody, errorResponse } from './errors.ts';
import { httpMetrics } from './http-metrics.ts';
import { idempotency } from './idempotency.ts';
import { rateLimit } from './rate-limit.ts';
import { registerRoutes } from './routes/index.ts';
import { isStreamedBody } from './streamed-bodies.ts';

export type App = OpenAPIHono<AuthEnv>;

/**
 * The client's address, or undefined for a request that came through no socket (in-process
 * `app.request` in tests: all of them would share one bucket); the per-key limit still applies.
 */
function clientIp(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/** Metrics, request id, access log, security headers, body limit, per-IP rate limit and CORS, in that order. */
function useEdge(app: App, { log, rateCounter, settings }: ApiDeps): void {
  app.use(httpMetrics());
  app.use(requestId());
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const ms = Math.round(performance.now() - started);
    log.info(
      { request_id: c.get('requestId'), method: c.req.method, path: c.req.path, status: c.res.status, ms },
      'request',
    );
  });
  app.use(secureHeaders());
  const limitBody = bodyLimit({
    maxSize: settings.bodyLimitBytes,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `the body is larger than ${settings.bodyLimitBytes} bytes`);
    },
  });
  // uploads (and bulk predictions) stream to disk, batch scoring streams through, under their own, larger cap (UPLOAD_MAX_BYTES)
  // a model version's files are read whole (its graphs are loaded to be checked), under the same cap
  const limitModelFiles = bodyLimit({
    maxSize: settings.uploadMaxBytes,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `the body is larger than ${settings.uploadMaxBytes} bytes`);
    },
  });
  const modelFiles = (path: string) => /^\/v1\/models\/[^/]+\/versions$/.test(path);
  app.use((c, next) => {
    if (isStreamedBody(c.req.method, c.req.path)) return next();
    return (c.req.method === 'POST' && modelFiles(c.req.path) ? limitModelFiles : limitBody)(c, next);
  });
  app.use(
    '/v1/*',
    rateLimit(rateCounter, settings.rateLimitPerIp, (c) => {
      const ip = clientIp(c);
      return ip === undefined ? undefined : `ip:${ip}`;
    }),
  );
  // creating an account hashes a password and may create a tenant: a tighter limit of its own per client
  const signupLimit = rateLimit(rateCounter, settings.signupRateLimitPerIp, (c) => {
    const ip = clientIp(c);
    return ip === undefined ? undefined : `signup-ip:${ip}`;
  });
  app.use('/v1/auth/signup', signupLimit);
  app.use('/v1/auth/accept-invitation', signupLimit);
  app.use(
    cors({
      origin: settings.corsOrigins.includes('*') ? '*' : [...settings.corsOrigins],
      exposeHeaders: ['x-request-id', 'retry-after', 'idempotent-replayed'],
    }),
  );
}

/** The chain in front of a protected route, by the permission it needs; POST and PUT then honour an Idempotency-Key. */
function guardsOf({ db, tokens, settings, log, rateCounter }: ApiDeps): Guards {
  const onceByKey = idempotency({ db, log });
  const guard = (permission: Permission) => [
    authenticate(db, tokens),
    rateLimit(rateCounter, settings.rateLimitPerKey, (c) => (c as Context<AuthEnv>).get('principal').subject),
    requirePermission(permission),
    onceByKey,
  ];
  return {
    read: guard('read'),
    ingest: guard('ingest'),
    analytics: guard('analytics'),
    manage_keys: guard('manage_keys'),
    manage_members: guard('manage_members'),
    manage_models: guard('manage_models'),
    operate: guard('operate'),
  };
}

/**
 * The app over built services.
 *
 * @example
 * ```ts
 * const app = createApp(buildApiDeps(loadConfig(), clients));
 * ```
 */
export function createApp(deps: ApiDeps): App {
  const app = new OpenAPIHono<AuthEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const field = issue?.path.join('.') || result.target;
      throw new ApiError(400, 'invalid_request', `${result.target} ${field}: ${issue?.message ?? 'invalid'}`, field);
      // unreachable, but the hook's type wants a Response or void
      return c.body(null);
    },
  });
  useEdge(app, deps);
  app.openAPIRegistry.registerComponent('securitySchemes', 'Bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'an API key (`mr_...`) or an access token from /v1/auth/login',
  });
  registerRoutes(app, deps, guardsOf(deps));

  app.get('/metrics', async (c) =>
    c.text(await metricsRegistry.metrics(), 200, { 'content-type': metricsRegistry.contentType }),
  );
  app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: 'Millrace API', version: '1' } });
  app.get('/docs', (c) =>
    c.html(docsPage(app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'Millrace API', version: '1' } }))),
  );

  app.notFound((c) => c.json(errorBody(c, 'not_found', `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((error, c) => errorResponse(c, error, deps.log));
  return app;
}
