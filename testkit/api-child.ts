/** `millrace api` as a child process on a free port, for tests that need the real server (the console's browser tests, TLS). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort } from '../core/free-port.ts';
import { cli } from './processor-helpers.ts';

export interface ApiChild {
  /** the base URL it logged: http://, or https:// when given a certificate */
  url: string;
  stop(): Promise<void>;
}

/**
 * `millrace api` with `env` added; resolves once it logs that it listens, rejects with its last
 * lines of stderr if it exits first.
 *
 * @example
 * ```ts
 * const api = await startApi({ API_TLS_CERT: cert, API_TLS_KEY: key });
 * ```
 */
export async function startApi(env: Record<string, string> = {}): Promise<ApiChild> {
  const port = await freePort();
  const api: ChildProcess = spawn(process.execPath, [cli, 'api'], {
    // every client here is 127.0.0.1, which other tests' servers count against too; limits have their own tests
    env: { ...process.env, API_PORT: String(port), RATE_LIMIT_PER_IP: '1000000', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = createInterface({ input: api.stderr! });
  const last: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the API did not start within 60 s')), 60_000);
    // 'close': it exited and its stderr is read to the end
    api.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`the API exited with ${code}: ${last.join('\n')}`));
    });
    lines.on('line', (line) => {
      last.push(line);
      if (last.length > 20) last.shift();
      if (!line.includes('"api listening"')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
  });
  return {
    url,
    async stop() {
      if (api.exitCode !== null) return;
      const exited = new Promise((resolve) => api.once('exit', resolve));
      api.kill('SIGTERM');
      await exited;
    },
  };
}
