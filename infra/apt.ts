/** Debian packages and services, handled without prompts (CI has no stdin). */
import { type Command, run } from './process.ts';

/** `args` as a command run by root; CI runners are not root but have password-less sudo. */
export function asRoot(...args: string[]): Command {
  const [cmd = '', ...rest] = process.getuid?.() === 0 ? args : ['sudo', '-n', ...args];
  return { cmd, args: rest };
}

/** Output goes to `logFile` when given, else to our stderr. */
export async function aptInstall(packages: string[], logFile?: string): Promise<void> {
  const apt = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get'];
  await run(asRoot(...apt, 'update'), logFile);
  await run(asRoot(...apt, 'install', '-y', ...packages), logFile);
}
