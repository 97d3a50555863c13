/**
 * The test hosts (infra/hosts.ts) as the chaos harness uses them: a process in a host's network
 * namespace reaches a server on the service address through the host's link; with the link down its
 * connection gets no answer at all (a partition, not a refusal), and it connects again once the link
 * is up. The hosts and the address are removed at the end.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { hostsDown, hostsUp, inHost, SERVICE_ADDRESS, setLink, type TestHost } from '../../infra/hosts.ts';

const run = promisify(execFile);

/** From inside `host`: 'connected', 'refused' or 'no answer' (nothing within 2 s). */
async function connectFrom(host: TestHost, port: number): Promise<string> {
  const probe = `const s = require('node:net').connect({ host: '${SERVICE_ADDRESS}', port: ${port} });
    s.setTimeout(2000, () => { console.log('no answer'); process.exit(0); });
    s.on('connect', () => { console.log('connected'); process.exit(0); });
    s.on('error', (e) => { console.log(e.code === 'ECONNREFUSED' ? 'refused' : e.code); process.exit(0); });`;
  const [command, args] = inHost(host, process.execPath, ['-e', probe]);
  return (await run(command, args)).stdout.trim();
}

after(() => hostsDown());

describe('test hosts', () => {
  it('reach the service address over their link, and not while it is cut', async () => {
    const [host] = await hostsUp(2);
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, SERVICE_ADDRESS, resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      assert.equal(await connectFrom(host!, port), 'connected');
      await setLink(host!, false);
      assert.equal(await connectFrom(host!, port), 'no answer');
      await setLink(host!, true);
      assert.equal(await connectFrom(host!, port), 'connected');
    } finally {
      server.close();
    }
  });
});
