/** Running commands and the long-lived service processes infra starts: pidfiles, liveness, stopping. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Command {
  cmd: string;
  args: string[];
  cwd?: string;
}

/** Runs a command to completion; its output goes to `logFile` when given, else to our stderr. */
export async function run(command: Command, logFile?: string): Promise<void> {
  const out = logFile === undefined ? 2 : openLog(logFile);
  try {
    const child = spawn(command.cmd, command.args, { cwd: command.cwd, stdio: ['ignore', out, out] });
    const [code, signal] = (await Promise.race([
      once(child, 'exit'),
      once(child, 'error').then(([err]) => Promise.reject(err as Error)),
    ])) as [number | null, NodeJS.Signals | null];
    if (code !== 0) {
      throw new Error(`${[command.cmd, ...command.args].join(' ')} failed (${signal ?? `exit code ${code}`})`);
    }
  } finally {
    if (out !== 2) fs.closeSync(out);
  }
}

/**
 * Starts a fresh log, keeping the previous runs' as `<log>.1` (the last) to `<log>.9`: a chaos run
 * restarts a service every few minutes, and the minute a verdict asks about is several starts back.
 */
export function rotateLog(logFile: string): void {
  if (!fs.existsSync(logFile)) return;
  for (let n = KEPT_LOGS - 1; n >= 1; n--)
    if (fs.existsSync(`${logFile}.${n}`)) fs.renameSync(`${logFile}.${n}`, `${logFile}.${n + 1}`);
  fs.renameSync(logFile, `${logFile}.1`);
}

const KEPT_LOGS = 9;

/**
 * Starts a process that outlives us: its own process group, output appended to `logFile`,
 * pid written to `pidFile`. Returns the pid.
 */
export async function spawnDetached(command: Command, logFile: string, pidFile: string): Promise<number> {
  const out = openLog(logFile);
  try {
    const child = spawn(command.cmd, command.args, { cwd: command.cwd, detached: true, stdio: ['ignore', out, out] });
    if (child.pid === undefined) {
      const [err] = (await once(child, 'error')) as [Error];
      throw err;
    }
    child.unref();
    fs.mkdirSync(path.dirname(pidFile), { recursive: true });
    fs.writeFileSync(pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    fs.closeSync(out);
  }
}

function openLog(file: string): number {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return fs.openSync(file, 'a');
}

/**
 * The pid in `pidFile` if that process is alive and still ours: its command line must contain
 * `marker` (our MILLRACE_HOME), so a stale pidfile whose pid was reused is never mistaken for ours.
 */
export function runningPid(pidFile: string, marker: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8'), 10);
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && isOurs(pid, marker) ? pid : undefined;
}

function isOurs(pid: number, marker: string): boolean {
  try {
    // A zombie has an empty cmdline, so it counts as gone.
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

/** SIGTERM to the process group, then SIGKILL if it is still there after `graceMs`. */
export async function stopProcess(pid: number, marker: string, graceMs: number): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isOurs(pid, marker)) {
    if (Date.now() > deadline) {
      signalGroup(pid, 'SIGKILL');
      await sleep(500);
      return;
    }
    await sleep(200);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Polls `ready` until it answers true. Gives up after `timeoutMs`, or as soon as `gone()` says
 * the process died (no point waiting for a corpse), by throwing an Error that says which.
 */
export async function waitUntil(
  ready: () => Promise<boolean>,
  opts: { timeoutMs: number; gone?: () => boolean },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await ready()) return;
    if (opts.gone?.()) throw new Error('its process exited before it became healthy');
    if (Date.now() > deadline) throw new Error(`not healthy after ${Math.round(opts.timeoutMs / 1000)} s`);
    await sleep(300);
  }
}

/** The last `lines` lines of a file ('' if there is none). */
export function tail(file: string, lines: number): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    // Logs can be large; the end of it is all we need.
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, 64 * 1024));
    fs.readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } finally {
    fs.closeSync(fd);
  }
}
