/**
 * The platform at rest: `millrace start` (the API and every role it supervises) with no record
 * flowing, measured from /proc. Starts `node bin/millrace.js start` against the services already
 * up (it starts none: the bench refuses to run if start would), waits until every role has written
 * its heartbeat, waits --settle seconds more, then samples utime+stime and VmRSS of the start
 * process and all its descendants (the services are not its descendants) for --seconds, and prints
 * CPU as % of one core and RSS per process, per role where a role is a thread of a host process
 * (the supervisor logs each role's thread id), and in total; then stops the platform with SIGTERM.
 * Its own ports (API, metrics, the fixture site) and Prometheus folder keep it apart from anything
 * else running.
 * Run (services up) on databases of its own: the test suites leave watched symbols behind, which
 * the market retriever fetches on their schedules (the run says so when there are any):
 *   psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE millrace_idle'
 *   export CLICKHOUSE_DATABASE=millrace_idle POSTGRES_URL=postgres://postgres@127.0.0.1:5432/millrace_idle
 *   node bin/millrace.js provision && node --import tsx bench/idle.ts [--seconds 60] [--settle 20]
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { infraStatus } from '../infra/index.ts';
import { createPostgresPool } from '../core/postgres.ts';
import { freePort } from '../core/free-port.ts';
import { pipelines } from '../processors/pipelines.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, settle: { type: 'string' } } });
const SECONDS = Number(values.seconds ?? 60);
const SETTLE = Number(values.settle ?? 20);
const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux
const root = path.join(import.meta.dirname, '..');
const expected = pipelines.flatMap((p) => p.roles).map((args) => args.slice(0, 2).join(' '));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const print = (line: string) => process.stdout.write(`${line}\n`);
/** Rows of objects as aligned columns, the keys as the header. */
function table(rows: readonly Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const keys = Object.keys(rows[0]!);
  const width = (k: string) => Math.max(k.length, ...rows.map((r) => String(r[k]).length));
  print(keys.map((k) => k.padEnd(width(k))).join('  '));
  for (const r of rows) print(keys.map((k) => String(r[k]).padEnd(width(k))).join('  '));
}
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** utime + stime in ticks, from a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat line. */
async function cpuTicks(statPath: string): Promise<number | undefined> {
  const text = await readFile(statPath, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  return Number(fields[11]) + Number(fields[12]); // 14 utime, 15 stime
}

async function rssKb(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0);
}

/** The pid and every descendant of it, with their command lines. */
async function tree(rootPid: number): Promise<Map<number, string>> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (stat) parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  const found = new Map<number, string>();
  const visit = async (pid: number) => {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    found.set(pid, cmd.split('\0').filter(Boolean).slice(1).join(' '));
    for (const [child, parent] of parents) if (parent === pid) await visit(child);
  };
  await visit(rootPid);
  return found;
}

async function main(): Promise<void> {
  const down = (await infraStatus()).filter((s) => s.health !== 'up');
  if (down.length > 0)
    throw new Error(`services not running (start would start them): ${down.map((s) => s.service).join(', ')}`);
  const [apiPort, sitePort] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    API_PORT: String(apiPort),
    METRICS_PORT: '0',
    PROMETHEUS_DIR: await mkdtemp(path.join(tmpdir(), 'millrace-idle-prom-')),
    MARKET_SITE_URL: `http://127.0.0.1:${sitePort}`,
    CRAWL_SEARCH_ENDPOINTS: `http://127.0.0.1:${sitePort}/search/images?q={q}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  };
  const t0 = new Date();
  const start = spawn(process.execPath, [path.join(root, 'bin', 'millrace.js'), 'start'], {
    cwd: root,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const startPid = start.pid!;
  let exited = false;
  start.on('exit', () => (exited = true));
  /** role name -> the thread id the supervisor logged for it (roles run as threads) */
  const threads = new Map<string, { pid: number; tid: number }>();
  const errors: string[] = [];
  const logFile = path.join(root, 'bench', 'results', 'idle-start.log');
  await mkdir(path.dirname(logFile), { recursive: true });
  const logLines: string[] = [];
  createInterface({ input: start.stderr! }).on('line', (line) => {
    logLines.push(line);
    try {
      const entry = JSON.parse(line) as { msg?: string; child?: string; pid?: number; tid?: number; level?: number };
      if (entry.msg === 'role started' && entry.child && entry.tid)
        threads.set(entry.child, { pid: entry.pid!, tid: entry.tid });
      if ((entry.level ?? 0) >= 50) errors.push(line.slice(0, 300));
    } catch {
      // not a log line (the "millrace is running" banner)
    }
  });
  process.stderr.write(
    `started millrace start (pid ${startPid}, API on ${apiPort}); waiting for ${expected.length} roles\n`,
  );

  const db = createPostgresPool(1);
  try {
    await measure();
  } finally {
    await stop();
    await db.end();
    await writeFile(logFile, logLines.join('\n'));
  }

  async function stop() {
    if (exited) return;
    start.kill('SIGTERM');
    const stopped = await Promise.race([
      new Promise<boolean>((resolve) => start.once('exit', () => resolve(true))),
      sleep(60_000).then(() => false),
    ]);
    if (!stopped) start.kill('SIGKILL');
    print(stopped ? 'stopped cleanly' : 'did not stop within 60 s: killed');
  }

  async function measure() {
    const readySince = Date.now();
    let ready: { role: string; name: string; pid: number }[];
    for (;;) {
      if (exited) throw new Error(`millrace start exited early:\n${errors.join('\n')}`);
      const pids = [...(await tree(startPid)).keys()];
      ready = (
        await db.query<{ role: string; name: string; pid: number }>(
          `SELECT role, name, pid FROM role_instances WHERE host = $1 AND pid = ANY($2) AND started_at >= $3 AND stopped_at IS NULL`,
          [hostname(), pids, t0],
        )
      ).rows;
      const names = new Set(ready.map((r) => `${r.role} ${r.name}`));
      if (names.size >= expected.length) break;
      if (Date.now() - readySince > 240_000) throw new Error(`roles not ready after 240 s: ${[...names].join(', ')}`);
      await sleep(1_000);
    }
    process.stderr.write(
      `${ready.length} roles ready after ${((Date.now() - readySince) / 1000).toFixed(1)} s; settling ${SETTLE} s\n`,
    );
    await sleep(SETTLE * 1000);

    const processes = await tree(startPid);
    const roleOfPid = new Map(ready.filter((r) => r.pid !== startPid).map((r) => [r.pid, `${r.role} ${r.name}`]));
    const snapshot = async () => {
      const cpu = new Map<string, number>();
      for (const pid of processes.keys()) cpu.set(`p${pid}`, (await cpuTicks(`/proc/${pid}/stat`)) ?? NaN);
      for (const [name, { pid, tid }] of threads)
        cpu.set(`t${name}`, (await cpuTicks(`/proc/${pid}/task/${tid}/stat`)) ?? NaN);
      return cpu;
    };
    const peakRss = new Map<number, number>();
    const before = await snapshot();
    const began = performance.now();
    while (performance.now() - began < SECONDS * 1000) {
      for (const pid of processes.keys()) peakRss.set(pid, Math.max(peakRss.get(pid) ?? 0, await rssKb(pid)));
      await sleep(5_000);
    }
    const after = await snapshot();
    const elapsed = (performance.now() - began) / 1000;
    const pct = (key: string) => ((after.get(key)! - before.get(key)!) / TICKS / elapsed) * 100;
    const endRss = new Map<number, number>();
    for (const pid of processes.keys()) endRss.set(pid, await rssKb(pid));

    const rows = [...processes].map(([pid, cmd]) => ({
      pid,
      what:
        pid === startPid
          ? 'millrace start (API, supervisor' + (threads.size > 0 ? `, ${threads.size} role threads)` : ')')
          : (roleOfPid.get(pid) ?? cmd.slice(0, 60)),
      cpuPercent: Number(pct(`p${pid}`).toFixed(2)),
      rssMb: Number((endRss.get(pid)! / 1024).toFixed(1)),
      peakRssMb: Number((peakRss.get(pid)! / 1024).toFixed(1)),
    }));
    const threadRows = [...threads.keys()].map((name) => ({
      role: name,
      cpuPercent: Number(pct(`t${name}`).toFixed(2)),
    }));
    const totals = {
      processes: rows.length,
      cpuPercent: Number(rows.reduce((s, r) => s + r.cpuPercent, 0).toFixed(2)),
      rssMb: Number(rows.reduce((s, r) => s + r.rssMb, 0).toFixed(1)),
      peakRssMb: Number(rows.reduce((s, r) => s + r.peakRssMb, 0).toFixed(1)),
    };
    const loadAverage = load();
    // each watched symbol is fetched on its schedule: records flowing, not rest
    const [{ watched }] = (await db.query<{ watched: number }>('SELECT count(*)::int AS watched FROM market_symbols'))
      .rows as [{ watched: number }];

    print(`at rest: ${elapsed.toFixed(1)} s sampled after ${SETTLE} s settled, load average ${loadAverage}`);
    if (watched > 0)
      print(
        `NOT AT REST: ${watched} watched symbols are fetched on their schedules (run on databases of its own, see above)`,
      );
    table(rows);
    if (threadRows.length > 0) {
      print('role threads (each role main JS thread; their share of the host process above):');
      table(threadRows);
    }
    print(
      `total: ${totals.cpuPercent} % of one core, ${totals.rssMb} MB RSS (peak ${totals.peakRssMb} MB) over ${totals.processes} processes`,
    );
    const file = path.join(root, 'bench', 'results', `idle-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(
      file,
      JSON.stringify(
        { at: new Date(), seconds: elapsed, settle: SETTLE, loadAverage, watched, rows, threadRows, totals },
        null,
        2,
      ),
    );
    print(`written ${path.relative(root, file)}`);
  }
}

await main();
