/**
 * `GET /v1/uploads/{id}/ws` (WebSocket): the upload's progress as JSON messages (the same state as
 * the SSE endpoint's events) every second until it is done, then a normal close. Browsers cannot
 * set headers on a WebSocket, so the token may also come as `?access_token=`. Each message is the
 * whole state: a client that reconnects is up to date with its first message.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { UploadResults } from '../connectors/sources/uploads/results.ts';
import { httpErrorOf } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Pool } from '../core/postgres.ts';
import { principalOfBearer } from './auth/middleware.ts';
import type { ApiServer } from './listen.ts';
import type { Tokens } from './auth/tokens.ts';
import { can } from './auth/roles.ts';

const PATH = /^\/v1\/uploads\/([^/]+)\/ws$/;

/** Answers an upgrade with a plain HTTP error, in the API's JSON shape. */
function refuse(socket: Duplex, status: number, error: string, message: string): void {
  const body = JSON.stringify({ error, message });
  socket.end(
    `HTTP/1.1 ${status} ${error}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export function attachUploadSockets(
  server: ApiServer,
  deps: { db: Pool; tokens: Tokens; results: UploadResults; log: Logger; intervalMs?: number },
): void {
  const wss = new WebSocketServer({ noServer: true });
  const intervalMs = deps.intervalMs ?? 1000;

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const id = PATH.exec(url.pathname)?.[1];
      if (!id) return refuse(socket, 404, 'not_found', `no WebSocket at ${url.pathname}`);
      const token =
        req.headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? url.searchParams.get('access_token') ?? undefined;
      let tenantId: string;
      try {
        const principal = await principalOfBearer(deps.db, deps.tokens, token);
        if (!can(principal.role, 'read'))
          return refuse(socket, 403, 'forbidden', `role ${principal.role} may not read`);
        tenantId = principal.tenantId;
        await deps.results.progress(tenantId, id); // 404 before the upgrade
      } catch (error) {
        // a refused token or an unknown upload: the answer app.onError would give, as a plain HTTP error
        const answer = httpErrorOf(error);
        if (!answer.internal) return refuse(socket, answer.status, answer.body.error, answer.body.message);
        deps.log.error({ err: error, upload: id }, 'upload socket failed before the upgrade');
        return refuse(socket, 503, 'unavailable', 'progress is unavailable right now');
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        let open = true;
        ws.on('close', () => (open = false));
        void (async () => {
          try {
            while (open) {
              const progress = await deps.results.progress(tenantId, id);
              ws.send(JSON.stringify({ event: progress.done ? 'done' : 'progress', ...progress }));
              if (progress.done) return ws.close(1000, 'done');
              await new Promise((r) => setTimeout(r, intervalMs));
            }
          } catch (error) {
            deps.log.warn({ err: error, upload: id }, 'upload progress socket closed on an error');
            if (open) ws.close(1011, 'progress unavailable');
          }
        })();
      });
    })();
  });
}
