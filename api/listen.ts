/**
 * Serves a fetch handler over HTTP, or over HTTPS with HTTP/2 and HTTP/1.1 (ALPN picks) when given
 * a certificate and key, with the bounds that keep slow or hostile clients from holding the process:
 * a request must arrive whole (headers and body) within `requestTimeoutMs`, or Node answers 408 and
 * closes the socket; headers larger than Node's 16 KiB get 431. Node looks for overdue requests
 * every 30 s by default, so the check runs more often for short timeouts. Over HTTPS the bounds
 * hold for HTTP/1.1 connections; an HTTP/2 session closes after `requestTimeoutMs` without traffic.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { createSecureContext } from 'node:tls';
import { serve } from '@hono/node-server';
import { ConfigError } from '../core/config.ts';

/** A PEM certificate (chain) and its private key. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

export interface ListenOptions {
  hostname: string;
  port: number;
  requestTimeoutMs: number;
  /** serve HTTPS (HTTP/2 and HTTP/1.1) with these; plain HTTP/1.1 without */
  tls?: TlsFiles;
}

/** The server: node:http's, or node:http2's secure server, which serves HTTP/1.1 clients as node:http would. */
export type ApiServer = Server | Http2SecureServer;

/**
 * Reads the certificate and key files (API_TLS_CERT, API_TLS_KEY) and checks they make a TLS
 * context; a ConfigError naming the variable and file that is missing, unreadable or not PEM.
 *
 * @example
 * ```ts
 * const tls = config.API_TLS_CERT ? readTlsFiles(config.API_TLS_CERT, config.API_TLS_KEY!) : undefined;
 * ```
 */
export function readTlsFiles(certPath: string, keyPath: string): TlsFiles {
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError(`${name}=${file}: cannot read the file: ${(error as Error).message}`);
    }
  };
  const files = { cert: read('API_TLS_CERT', certPath), key: read('API_TLS_KEY', keyPath) };
  try {
    createSecureContext(files);
  } catch (error) {
    throw new ConfigError(
      `API_TLS_CERT=${certPath}, API_TLS_KEY=${keyPath}: not a PEM certificate and its private key: ${(error as Error).message}`,
    );
  }
  return files;
}

type FetchHandler = (request: Request) => Response | Promise<Response>;

/**
 * Serves `fetch` on hostname:port; resolves once listening.
 *
 * @example
 * ```ts
 * const server = await listen(app.fetch, { hostname: '127.0.0.1', port: 8443, requestTimeoutMs: 300_000, tls });
 * ```
 */
export function listen(fetch: FetchHandler, options: ListenOptions & { tls?: undefined }): Promise<Server>;
export function listen(fetch: FetchHandler, options: ListenOptions): Promise<ApiServer>;
export function listen(
  fetch: FetchHandler,
  { hostname, port, requestTimeoutMs, tls }: ListenOptions,
): Promise<ApiServer> {
  const bounds = {
    requestTimeout: requestTimeoutMs,
    headersTimeout: Math.min(60_000, requestTimeoutMs),
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeoutMs / 4))),
  };
  return new Promise((resolve, reject) => {
    const server = tls
      ? serve(
          {
            fetch,
            hostname,
            port,
            createServer: createSecureServer,
            serverOptions: { allowHTTP1: true, cert: tls.cert, key: tls.key },
          },
          () => resolve(server as Http2SecureServer),
        )
      : serve({ fetch, hostname, port, serverOptions: bounds }, () => resolve(server as Server));
    if (tls) {
      // node:http2 takes the HTTP/1.1 bounds as properties (read when it starts listening), not as options
      Object.assign(server, bounds);
      server.setTimeout(requestTimeoutMs);
    }
    server.once('error', reject);
  });
}
