/** A Service backed by a process infra starts itself and tracks with a pidfile (all but Postgres). */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../core/config.ts';
import { log } from './log.ts';
import { home, logFile, pidFile } from './paths.ts';
import { portInUse } from './probe.ts';
import { type Command, rotateLog, runningPid, spawnDetached, stopProcess, tail, waitUntil } from './process.ts';
import { type Service, ServiceError, type ServiceName } from './service.ts';

export interface ProcessSpec {
  name: ServiceName;
  /** The host its ports are bound to. */
  host: string;
  ports: number[];
  isInstalled(): Promise<boolean>;
  install(): Promise<void>;
  health(): Promise<boolean>;
  version(): Promise<string | undefined>;
  /** Writes its config and readies its data folder; returns the command that runs it in the foreground. */
  prepare(): Promise<Command>;
  /**
   * Its process exited while starting: given the end of its log, ready one more start and say what
   * was wrong and what the new start does about it; undefined when there is no remedy.
   */
  recover?(logTail: string): string | undefined;
}

/** Kafka's controlled shutdown and ClickHouse's merges may take a while; after this they are killed. */
const STOP_GRACE_MS = 20_000;

export function processService(spec: ProcessSpec): Service {
  const logPath = logFile(spec.name);
  const pidPath = pidFile(spec.name);
  // Every command line we spawn mentions a path under MILLRACE_HOME: that tells ours from pid reuse.
  const marker = home + path.sep;
  const ours = () => runningPid(pidPath, marker);
  const fail = (problem: string) => new ServiceError(spec.name, problem, logPath);

  async function waitHealthy(pid: number): Promise<void> {
    const gone = () => runningPid(pidPath, marker) !== pid;
    await waitUntil(spec.health, { timeoutMs: loadConfig().INFRA_START_TIMEOUT_MS, gone });
  }

  async function launch(): Promise<number> {
    fs.rmSync(pidPath, { force: true });
    for (const port of spec.ports) {
      if (await portInUse(spec.host, port)) {
        throw fail(`port ${port} is held by another process that does not answer as ${spec.name}`);
      }
    }
    rotateLog(logPath);
    const command = await spec.prepare();
    log.info({ service: spec.name, log: logPath }, 'starting');
    return spawnDetached(command, logPath, pidPath);
  }

  async function launchHealthy(): Promise<void> {
    const pid = await launch();
    await waitHealthy(pid).catch(async (err: unknown) => {
      // Never leave a half-started process holding the ports.
      await stopProcess(pid, marker, STOP_GRACE_MS);
      fs.rmSync(pidPath, { force: true });
      throw err;
    });
  }

  return {
    name: spec.name,
    ports: spec.ports,
    logFile: logPath,
    owned: true,
    isInstalled: spec.isInstalled,
    install: spec.install,
    health: spec.health,
    version: spec.version,
    pid: async () => ours(),

    async start() {
      const running = ours();
      try {
        if (running !== undefined) {
          // Ours and alive: healthy already, or still starting (e.g. a parallel `up`).
          await waitHealthy(running);
          return false;
        }
        if (await spec.health()) {
          log.warn({ service: spec.name }, 'already answering, but not started by infra; leaving it alone');
          return false;
        }
        try {
          await launchHealthy();
        } catch (err) {
          const remedy = spec.recover?.(tail(logPath, 200));
          if (remedy === undefined) throw err;
          log.warn({ service: spec.name, log: `${logPath}.1` }, remedy);
          await launchHealthy(); // once: a remedy that does not work is not tried again
        }
        return true;
      } catch (err) {
        throw err instanceof ServiceError ? err : fail((err as Error).message);
      }
    },

    async stop() {
      const pid = ours();
      if (pid !== undefined) {
        log.info({ service: spec.name, pid }, 'stopping');
        await stopProcess(pid, marker, STOP_GRACE_MS);
      }
      fs.rmSync(pidPath, { force: true });
    },
  };
}
