/**
 * A small process supervisor for `millrace start`: each role (a sink, a processor, a source) runs
 * as its own `millrace <command>` child, so one crashing does not take the others down. A child
 * that exits unexpectedly is started again after a back-off (1 s doubling to 30 s, reset once it
 * stayed up a minute). `stop()` sends SIGTERM to every child (each commits its batch in flight and
 * leaves its group), and SIGKILL to any still alive after the grace period. Each restart counts in
 * `millrace_role_restarts_total{role,name}` (role and name from the role's args, as its own metrics
 * label them), which the supervising process's /metrics (the API's, under `millrace start`) serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { backoff } from './backoff.ts';
import type { Logger } from './logger.ts';
import { metrics } from './metrics.ts';
import { packageRoot } from './package-root.ts';

const cli = path.join(packageRoot, 'bin', 'millrace.js'); // runs the compiled CLI (dist/)
const STABLE_MS = 60_000;
const RESTART_BACKOFF = { baseMs: 1_000, capMs: 30_000, jitter: 'equal' } as const;

export interface Role {
  /** What the logs call it, e.g. `sink samples-flights-clickhouse`. */
  name: string;
  args: string[];
  /** Added to the inherited environment (e.g. the role's own METRICS_PORT). */
  env?: Record<string, string>;
}

export interface Supervisor {
  /** Live children by role name (pids), for status and tests. */
  pids(): Record<string, number | undefined>;
  stop(graceMs?: number): Promise<void>;
}

/** The labels of the role's restarts: `sink x` -> role `sink`, name `x`; `trainer` -> both `trainer`. */
export const restartLabels = (role: Role) => ({
  role: role.args[0] ?? role.name,
  name: role.args[1] ?? role.args[0] ?? role.name,
});

export function supervise(roles: readonly Role[], log: Logger): Supervisor {
  const children = new Map<string, ChildProcess>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;

  /**
   * `restarts`: how many times in a row the role exited before staying up a minute; `total`: how many
   * times it was started again in all (the child reports it as MILLRACE_RESTARTS in its status).
   */
  const launch = (role: Role, restarts: number, total: number): void => {
    const startedAt = Date.now();
    // children write their JSON logs to our stderr, so one stream holds the whole platform
    const child = spawn(process.execPath, [cli, ...role.args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ...role.env, MILLRACE_RESTARTS: String(total) },
    });
    children.set(role.name, child);
    log.info({ child: role.name, pid: child.pid }, 'role started');
    child.on('exit', (code, signal) => {
      children.delete(role.name);
      if (stopping) return;
      const attempt = Date.now() - startedAt > STABLE_MS ? 1 : restarts + 1;
      const delayMs = backoff({ attempt, ...RESTART_BACKOFF });
      log.error({ child: role.name, code, signal, restartInMs: delayMs }, 'role exited, restarting');
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
    pids: () => Object.fromEntries([...children].map(([name, child]) => [name, child.pid])),
    async stop(graceMs = 25_000) {
      stopping = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(
        [...children.values()].map(
          (child) =>
            new Promise<void>((resolve) => {
              const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
              child.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
      log.info('every role stopped');
    },
  };
}
