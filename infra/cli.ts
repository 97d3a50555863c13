/**
 * `millrace infra up [service...] | down [service...] | status [--json]` (also `npm run infra:*`);
 * with `--cluster`, the local cluster's services (infra/cluster.ts) instead of the single node's;
 * `tsx infra/cli.ts ...` runs it directly.
 * Exit code 1 when a service fails to install or start; `status` exits 0 even when some are down.
 */
import { fileURLToPath } from 'node:url';
import { InfraError, infraDown, infraStatus, infraUp, type ServiceName, type ServiceStatus } from './index.ts';
import { log } from './log.ts';

function table(rows: ServiceStatus[]): string {
  const header = ['SERVICE', 'PORT', 'PID', 'HEALTH', 'VERSION', 'NOTE'];
  const cells = rows.map((r) => [
    r.service,
    r.ports.join(','),
    String(r.pid ?? '-'),
    r.health,
    r.version ?? '-',
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const lines = [header, ...cells].map((line) =>
    line
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const names = rest.filter((a) => !a.startsWith('--')) as ServiceName[];
  const setup = { cluster: rest.includes('--cluster') };
  switch (command) {
    case 'up':
      await infraUp(names.length > 0 ? names : undefined, setup);
      return 0;
    case 'down': {
      const { stopped } = await infraDown(names.length > 0 ? names : undefined, setup);
      log.info({ stopped }, 'services stopped');
      return 0;
    }
    case 'status': {
      const rows = await infraStatus(setup);
      process.stdout.write(rest.includes('--json') ? `${JSON.stringify(rows, null, 2)}\n` : table(rows));
      return 0;
    }
    default:
      process.stderr.write(
        'usage: infra up [service...] | down [service...] | status [--json]  (--cluster: the local cluster)\n',
      );
      return 2;
  }
}

/** Runs an infra command and returns its exit code; failures are explained on stderr. */
export async function infraCommand(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof InfraError) {
      for (const f of err.failures) log.error({ service: f.service, log: f.logFile }, f.message.split('\n')[0]);
    } else {
      log.error({ err }, 'infra failed');
    }
    // In full and plain as well: a log tail reads badly inside a JSON string.
    process.stderr.write(`\n${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(await infraCommand(process.argv.slice(2)));
