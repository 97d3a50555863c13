/**
 * The Hono app: request ids, JSON errors `{error, message, request_id}`, and the health
 * resources. Resource routes (ingestion, queries) are mounted here by the pipeline issues.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import type { Logger } from '../core/logger.ts';
import { runChecks, type Check } from './readiness.ts';

export interface AppDeps {
  log: Logger;
  checks: Record<string, Check>;
}

export function createApp({ log, checks }: AppDeps): Hono {
  const app = new Hono();
  app.use(requestId());
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    log.info(
      { request_id: c.get('requestId'), method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
      'request',
    );
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const services = await runChecks(checks);
    const ready = Object.values(services).every((s) => s.ok);
    return c.json({ status: ready ? 'ready' : 'not ready', services }, ready ? 200 : 503);
  });

  app.notFound((c) =>
    c.json({ error: 'not_found', message: `no route for ${c.req.method} ${c.req.path}`, request_id: c.get('requestId') }, 404),
  );
  app.onError((error, c) => {
    const request_id = c.get('requestId');
    if (error instanceof HTTPException) {
      return c.json({ error: 'http_error', message: error.message, request_id }, error.status);
    }
    log.error({ request_id, err: error }, 'unhandled error');
    return c.json({ error: 'internal', message: 'internal error; see the server log for this request id', request_id }, 500);
  });
  return app;
}
