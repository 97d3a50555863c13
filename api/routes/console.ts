/**
 * `GET /console`: the operator and tenant console (console/, bundled by api/console-bundle.ts). It
 * logs in with an API key and routes pages by hash. Its CSP allows only this origin's files and
 * requests: no inline script or style, no third parties. `/dashboard`, its former address, redirects.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import { bundleConsole, CONSOLE_DIR, type Asset } from '../console-bundle.ts';

export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const headers = (type: string) => ({
  'content-type': type,
  'content-security-policy': CONSOLE_CSP,
  'cache-control': 'no-cache',
});

export function registerConsole(app: OpenAPIHono<AuthEnv>): void {
  const page = readFileSync(path.join(CONSOLE_DIR, 'index.html')); // read once: the file ships with the code
  let bundle: Promise<Map<string, Asset>> | undefined;
  app.get('/console', (c) => c.body(page, 200, headers('text/html; charset=utf-8')));
  app.get('/console/:file', async (c) => {
    bundle ??= bundleConsole();
    const asset = (await bundle).get(c.req.param('file'));
    return asset ? c.body(asset.body, 200, headers(asset.type)) : c.notFound();
  });
  app.get('/dashboard', (c) => c.redirect('/console', 301));
}
