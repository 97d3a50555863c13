/** A self-contained docs page rendered from the OpenAPI document (no CDN: works offline). */
import { html, raw } from 'hono/html';

interface Operation {
  summary?: string;
  security?: unknown[];
  responses?: Record<string, { description?: string }>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

export function docsPage(doc: { paths?: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>> }) {
  const rows = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => {
      const op = item[method]!;
      const statuses = Object.keys(op.responses ?? {}).join(' ');
      return html`<tr>
        <td class="m ${method}">${method.toUpperCase()}</td>
        <td><code>${path}</code></td>
        <td>${op.summary ?? ''}</td>
        <td>${op.security ? 'Bearer' : 'none'}</td>
        <td>${statuses}</td>
      </tr>`;
    }),
  );
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>Millrace API</title>
        <style>
          body {
            font:
              15px system-ui,
              sans-serif;
            margin: 2rem;
            max-width: 1100px;
          }
          td,
          th {
            padding: 0.35rem 0.6rem;
            border-bottom: 1px solid #ddd;
            text-align: left;
            vertical-align: top;
          }
          .m {
            font-weight: 600;
          }
          .get {
            color: #1565c0;
          }
          .post {
            color: #2e7d32;
          }
          .delete {
            color: #c62828;
          }
          code {
            font-size: 14px;
          }
        </style>
      </head>
      <body>
        <h1>Millrace API</h1>
        <p>
          Machine-readable: <a href="/openapi.json">/openapi.json</a>. Authenticate with
          <code>Authorization: Bearer &lt;API key or access token&gt;</code>. Errors are
          <code>{error, message, field?, request_id}</code>.
        </p>
        <table>
          <thead>
            <tr>
              <th>method</th>
              <th>path</th>
              <th>what</th>
              <th>auth</th>
              <th>statuses</th>
            </tr>
          </thead>
          <tbody>
            ${raw(rows.join(''))}
          </tbody>
        </table>
      </body>
    </html>`;
}
