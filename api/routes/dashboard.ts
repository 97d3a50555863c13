/**
 * `GET /dashboard`: a static page (api/dashboard/) that logs in with an API key and shows live
 * finance scores, catalog upload progress and an analytics chart. Its CSP allows only this
 * origin's files and requests: no inline script or style, no third parties.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dashboard');

export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const FILES: Record<string, { file: string; type: string }> = {
  '/dashboard': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
};

export function registerDashboard(app: OpenAPIHono<AuthEnv>): void {
  for (const [route, { file, type }] of Object.entries(FILES)) {
    const body = readFileSync(path.join(dir, file)); // read once: the files ship with the code
    app.get(route, (c) =>
      c.body(body, 200, {
        'content-type': type,
        'content-security-policy': DASHBOARD_CSP,
        'cache-control': 'no-cache',
      }),
    );
  }
}
