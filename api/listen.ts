/**
 * Serves a fetch handler over HTTP with the bounds that keep slow or hostile clients from holding
 * the process: a request must arrive whole (headers and body) within `requestTimeoutMs`, or Node
 * answers 408 and closes the socket; headers larger than Node's 16 KiB get 431. Node looks for
 * overdue requests every 30 s by default, so the check runs more often for short timeouts.
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';

export interface ListenOptions {
  hostname: string;
  port: number;
  requestTimeoutMs: number;
}

export function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  { hostname, port, requestTimeoutMs }: ListenOptions,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch,
        hostname,
        port,
        serverOptions: {
          requestTimeout: requestTimeoutMs,
          headersTimeout: Math.min(60_000, requestTimeoutMs),
          connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeoutMs / 4))),
        },
      },
      () => resolve(server as Server),
    );
    server.once('error', reject);
  });
}
