/**
 * Request latency by route in /metrics: `http_request_duration_seconds{route,method,status}` and
 * `http_requests_in_flight{route,method}`. `route` is the template a request matched
 * (`/v1/analytics/:view`), never its path, and `unmatched` for a 404 of no route, so the series
 * stay as few as the routes. Measured until the handler returns its Response: a streamed body
 * (live streams, progress events) is not counted.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { Gauge, Histogram } from 'prom-client';
import { metricsRegistry } from '../core/metrics.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

const duration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'API request duration until the response is ready, by route template, method and status',
  labelNames: ['route', 'method', 'status'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});
const inFlight = new Gauge({
  name: 'http_requests_in_flight',
  help: 'API requests being handled, by route template and method',
  labelNames: ['route', 'method'],
  registers: [metricsRegistry],
});

/** The template of the route that handles the request: the last match that is not middleware (`app.use` registers method ALL). */
function routeOf(c: Context): string {
  return matchedRoutes(c).findLast((r) => r.method !== 'ALL')?.path ?? 'unmatched';
}

/** Put first: it times everything after it, the rate limits and errors included. */
export function httpMetrics(): MiddlewareHandler {
  return async (c, next) => {
    const labels = { route: routeOf(c), method: METHODS.has(c.req.method) ? c.req.method : 'other' };
    inFlight.inc(labels);
    const stop = duration.startTimer(labels);
    try {
      await next();
    } finally {
      inFlight.dec(labels);
      stop({ status: String(c.res.status) });
    }
  };
}
