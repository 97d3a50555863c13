/**
 * Prometheus and promtool from Debian's `prometheus` package (2.42 on bookworm), installed on first
 * use: not one of the services `infra up` starts, since nothing in the platform needs it to run.
 * Beside this file: rules.yml (the alerts), rules.test.yml (their promtool tests) and
 * prometheus.yml (the scrape configuration: the API and the roles, found through the file_sd
 * targets `millrace start` writes). `preparePrometheus` copies the last two into PROMETHEUS_DIR
 * ($MILLRACE_HOME/prometheus), where the targets live, so the relative paths in prometheus.yml hold.
 *
 * On a machine with systemd, Debian's package also enables and starts its own service on :9090;
 * ours runs as a separate process on the port it is given.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../core/config.ts';
import { packageRoot } from '../../core/package-root.ts';
import { aptInstall } from '../apt.ts';
import { home } from '../paths.ts';

const here = path.join(packageRoot, 'infra', 'prometheus');

/** The alerting rules, their promtool unit tests and the scrape configuration, in the repository. */
export const prometheusFiles = {
  rules: path.join(here, 'rules.yml'),
  rulesTest: path.join(here, 'rules.test.yml'),
  config: path.join(here, 'prometheus.yml'),
};

/** Where `millrace start` writes the file_sd targets and `preparePrometheus` the configuration (PROMETHEUS_DIR). */
export const prometheusDir = path.resolve(loadConfig().PROMETHEUS_DIR ?? path.join(home, 'prometheus'));
export const targetsDir = path.join(prometheusDir, 'targets');

const BINARIES = { prometheus: '/usr/bin/prometheus', promtool: '/usr/bin/promtool' };

/** The paths of prometheus and promtool, installing Debian's `prometheus` (without recommends) when absent. */
export async function ensurePrometheus(logFile?: string): Promise<typeof BINARIES> {
  const present = () => Object.values(BINARIES).every((p) => existsSync(p));
  if (present()) return BINARIES;
  await aptInstall(['--no-install-recommends', 'prometheus'], logFile);
  if (!present())
    throw new Error(`apt-get installed prometheus but ${Object.values(BINARIES).join(' or ')} is missing`);
  return BINARIES;
}

/** Runs promtool with `args`; its exit code and its output (stdout and stderr together). */
export async function promtool(args: string[]): Promise<{ code: number; output: string }> {
  const { promtool: bin } = await ensurePrometheus();
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code: code ?? 1, output };
}

/** One file_sd target group: `host:port` targets and the labels every series scraped from them gets. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/**
 * Writes `<name>.json` into the targets folder, through a rename so Prometheus never reads half a
 * file. prometheus.yml reads `api.json` (job millrace-api) and `roles.json` (job millrace-roles).
 */
export async function writeTargets(name: 'api' | 'roles', groups: TargetGroup[], dir = targetsDir): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  await fs.writeFile(`${file}.tmp`, `${JSON.stringify(groups, null, 2)}\n`);
  await fs.rename(`${file}.tmp`, file);
  return file;
}

/** Copies prometheus.yml and rules.yml into `dir` (by default $MILLRACE_HOME/prometheus); the config's path. */
export async function preparePrometheus(dir = prometheusDir): Promise<string> {
  await fs.mkdir(path.join(dir, 'targets'), { recursive: true });
  await fs.copyFile(prometheusFiles.rules, path.join(dir, 'rules.yml'));
  const config = path.join(dir, 'prometheus.yml');
  await fs.copyFile(prometheusFiles.config, config);
  return config;
}

export interface RunningPrometheus {
  url: string;
  /** Settles with the exit code when prometheus exits (after close(), or on its own). */
  exited: Promise<number | null>;
  close(): Promise<void>;
}

/**
 * Runs prometheus on `host:port` with the configuration `preparePrometheus` wrote into `dir`, its
 * data in `storage`; resolves once /-/ready answers. Output goes to `logFile`, else to our stderr.
 *
 * @example
 * const prom = await startPrometheus({ port: 9090 });
 * // http://127.0.0.1:9090/targets
 * await prom.close();
 */
export async function startPrometheus(options: {
  port: number;
  host?: string;
  dir?: string;
  storage?: string;
  logFile?: string;
}): Promise<RunningPrometheus> {
  const { prometheus } = await ensurePrometheus(options.logFile);
  const host = options.host ?? '127.0.0.1';
  const config = await preparePrometheus(options.dir);
  const storage = options.storage ?? path.join(home, 'data', 'prometheus');
  await fs.mkdir(storage, { recursive: true });
  const out = options.logFile === undefined ? 'inherit' : await fs.open(options.logFile, 'a');
  const fd = out === 'inherit' ? out : out.fd;
  const child = spawn(
    prometheus,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${storage}`,
      `--web.listen-address=${host}:${options.port}`,
      '--web.enable-lifecycle',
    ],
    { stdio: ['ignore', fd, fd] },
  );
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const url = `http://${host}:${options.port}`;
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    if (out !== 'inherit') await out.close();
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(
        `prometheus exited (code ${child.exitCode}) before it was ready; see ${options.logFile ?? 'stderr'}`,
      );
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, exited, close };
    if (Date.now() > deadline) {
      await close();
      throw new Error(`prometheus did not answer ${url}/-/ready within 30 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
