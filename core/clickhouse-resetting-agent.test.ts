/**
 * ResettingAgent (core/clickhouse.ts): a request that times out ends its connection with a reset,
 * which drops what the kernel had not sent yet, where the default agent closes it and the kernel
 * goes on delivering. The server side tells them apart: ECONNRESET against a clean end.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import { ResettingAgent } from './clickhouse.ts';

/** How a server that reads but never answers sees the connection end after the client's request times out. */
async function serverSeesAfterTimeout(agent: http.Agent): Promise<'reset' | 'closed'> {
  let seen!: (how: 'reset' | 'closed') => void;
  const ended = new Promise<'reset' | 'closed'>((resolve) => (seen = resolve));
  const server = net.createServer((socket) => {
    socket.on('data', () => {}); // reads, never answers
    socket.on('error', (error: NodeJS.ErrnoException) => seen(error.code === 'ECONNRESET' ? 'reset' : 'closed'));
    socket.on('end', () => seen('closed'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent, timeout: 200 });
    request.on('timeout', () => request.destroy()); // as @clickhouse/client does
    request.on('error', () => {});
    request.write('INSERT INTO t FORMAT TabSeparated\n');
    return await ended;
  } finally {
    agent.destroy();
    server.close();
  }
}

describe('ResettingAgent', () => {
  it('resets a connection whose request timed out; the default agent closes it', async () => {
    assert.equal(await serverSeesAfterTimeout(new ResettingAgent({ keepAlive: true })), 'reset');
    assert.equal(await serverSeesAfterTimeout(new http.Agent({ keepAlive: true })), 'closed');
  });
});
