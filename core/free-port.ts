/**
 * A TCP port free on `host` right now, for a server in another process (a role, the API, a test's
 * Prometheus) that must be handed a port rather than 0 so its address is known beforehand. The port
 * is released before the caller binds it, so another process could take it in between.
 */
import { createServer } from 'node:net';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
