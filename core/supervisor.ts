/**
 * A small supervisor for `millrace start`: each role (a sink, a processor, a source) runs
 * `millrace <command>` in a worker thread of the supervising process, with its own module
 * instances, environment, metrics registry and metrics port, so it costs a V8 isolate rather than a
 * Node process (18 processes held 2.2 GB at rest). An uncaught error, a rejected promise or
 * `process.exit` ends only that role's thread: a role that exits unexpectedly is started again
 * after a back-off (1 s doubling to 30 s, reset once it stayed up a minute) while the others go on.
 * `stop()` asks every role to stop as SIGTERM would (each commits its batch in flight and leaves its
 * group), and terminates any still running after the grace period. Each restart counts in
 * `millrace_role_restarts_total{role,name}` (role and name from the role's args, as its own metrics
 * label them), which the supervising process's /metrics (the API's, under `millrace start`) serves.
 * What a thread cannot contain is a crash of native code (a segfault), which ends the process.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { backoff } from './backoff.ts';
import type { Logger } from './logger.ts';
import { metrics } from './metrics.ts';
import { packageRoot } from './package-root.ts';

const cli = path.join(packageRoot, 'bin', 'millrace.js'); // runs the compiled CLI (dist/)
const STABLE_MS = 60_000;
const RESTART_BACKOFF = { baseMs: 1_000, capMs: 30_000, jitter: 'equal' } as const;

/**
 * What each role's thread runs before the CLI: it tells the supervisor its Linux thread id (for
 * per-role CPU from /proc/<pid>/task/<tid>), and turns the supervisor's stop message into the
 * SIGTERM that core/shutdown.ts listens for (signals reach only the main thread). The port is
 * unref'd so a command that finishes still ends its thread.
 */
const ROLE_THREAD = `
const { parentPort } = require('node:worker_threads');
const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
parentPort.postMessage({ tid: Number.isInteger(tid) ? tid : undefined });
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM');
  else process.exit(143);
});
parentPort.unref();
import(${JSON.stringify(pathToFileURL(cli).href)});
`;

export interface Role {
  /** What the logs call it, e.g. `sink samples-flights-clickhouse`. */
  name: string;
  args: string[];
  /** Added to the inherited environment (e.g. the role's own METRICS_PORT). */
  env?: Record<string, string>;
  /** A cap on the thread's young generation, in MB (V8's default otherwise). */
  youngGenerationMb?: number;
}

export interface Supervisor {
  /** Live roles by name: their Linux thread ids (undefined until the thread reported it), for status and tests. */
  threads(): Record<string, number | undefined>;
  /**
   * Ends a role's thread at once, no closer run (what SIGKILL was to a role's process): its
   * transaction or batch in flight is abandoned, and the supervisor starts it again like any crash.
   * False if the role is not running.
   */
  kill(name: string): Promise<boolean>;
  stop(graceMs?: number): Promise<void>;
}

/** The labels of the role's restarts: `sink x` -> role `sink`, name `x`; `trainer` -> both `trainer`. */
export const restartLabels = (role: Role) => ({
  role: role.args[0] ?? role.name,
  name: role.args[1] ?? role.args[0] ?? role.name,
});

export function supervise(roles: readonly Role[], log: Logger): Supervisor {
  const children = new Map<string, { worker: Worker; tid?: number }>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;

  /**
   * `restarts`: how many times in a row the role exited before staying up a minute; `total`: how many
   * times it was started again in all (the child reports it as MILLRACE_RESTARTS in its status).
   */
  const launch = (role: Role, restarts: number, total: number): void => {
    const startedAt = Date.now();
    // roles write their JSON logs to our stdout/stderr, so one stream holds the whole platform
    const worker = new Worker(ROLE_THREAD, {
      eval: true,
      argv: role.args,
      env: { ...process.env, ...role.env, MILLRACE_RESTARTS: String(total) },
      name: role.name,
      ...(role.youngGenerationMb ? { resourceLimits: { maxYoungGenerationSizeMb: role.youngGenerationMb } } : {}),
    });
    const child: { worker: Worker; tid?: number } = { worker };
    children.set(role.name, child);
    worker.once('message', ({ tid }: { tid?: number }) => {
      child.tid = tid;
      log.info({ child: role.name, pid: process.pid, tid }, 'role started');
    });
    // an uncaught error or rejection ends the thread ('exit' follows)
    worker.on('error', (error) => log.error({ child: role.name, err: error }, 'role failed'));
    worker.on('exit', (code) => {
      if (children.get(role.name) === child) children.delete(role.name);
      if (stopping) return;
      const attempt = Date.now() - startedAt > STABLE_MS ? 1 : restarts + 1;
      const delayMs = backoff({ attempt, ...RESTART_BACKOFF });
      log.error({ child: role.name, code, restartInMs: delayMs }, 'role exited, restarting');
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopping) {
          metrics.roleRestarts.inc(restartLabels(role));
          launch(role, attempt, total + 1);
        }
      }, delayMs);
      timers.add(timer);
    });
  };
  for (const role of roles) {
    // zero from the start: Prometheus' increase() counts the first restart only if the series existed before it
    metrics.roleRestarts.inc(restartLabels(role), 0);
    launch(role, 0, 0);
  }

  return {
    threads: () => Object.fromEntries([...children].map(([name, child]) => [name, child.tid])),
    async kill(name) {
      const child = children.get(name);
      if (!child) return false;
      await child.worker.terminate();
      return true;
    },
    async stop(graceMs = 25_000) {
      stopping = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(
        [...children.values()].map(
          ({ worker }) =>
            new Promise<void>((resolve) => {
              const kill = setTimeout(() => void worker.terminate(), graceMs);
              worker.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              worker.postMessage('stop');
            }),
        ),
      );
      log.info('every role stopped');
    },
  };
}
