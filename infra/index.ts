/**
 * The local services Millrace runs against, for the CLI (infra/cli.ts) and for tests that need
 * them up, or need one down for a while (e.g. a ClickHouse outage).
 */
import { log } from './log.ts';
import { clusterServices } from './cluster.ts';
import { CLUSTER_SERVICE_NAMES, type Service, ServiceError, SERVICE_NAMES, type ServiceName } from './service.ts';
import { clickhouse } from './services/clickhouse.ts';
import { kafka } from './services/kafka.ts';
import { postgres } from './services/postgres.ts';
import { registry } from './services/schema-registry.ts';
import { MillraceError } from '../core/errors.ts';

export { CLUSTER_SERVICE_NAMES, SERVICE_NAMES, ServiceError, type ServiceName };

const services = new Map<ServiceName, Service>(
  [postgres, clickhouse, kafka, registry, ...clusterServices].map((s) => [s.name, s]),
);
const ALL_NAMES: readonly ServiceName[] = [...SERVICE_NAMES, ...CLUSTER_SERVICE_NAMES];

/** Which setup a call means when it names no service: the default single node, or the local cluster. */
export interface Setup {
  /** the local cluster (infra/cluster.ts) with Postgres and the registry, instead of the single node */
  cluster?: boolean;
}
const namesOf = ({ cluster = false }: Setup): readonly ServiceName[] =>
  cluster ? ['postgres', 'registry', ...CLUSTER_SERVICE_NAMES] : SERVICE_NAMES;

export interface ServiceStatus {
  service: ServiceName;
  ports: number[];
  pid: number | null;
  health: 'up' | 'down';
  version: string | null;
  /** False for Postgres, which `down` leaves running. */
  owned: boolean;
  log: string;
  note: string | null;
}

/** One or more services failed; `failures` has one ServiceError per service. */
export class InfraError extends MillraceError {
  override name = 'InfraError';
  override readonly code = 'infra_failed';
  constructor(readonly failures: ServiceError[]) {
    super(failures.map((f) => f.message).join('\n\n'));
  }
}

function serviceNamed(name: string): Service {
  const service = services.get(name as ServiceName);
  if (!service) throw new Error(`unknown service "${name}"; known: ${ALL_NAMES.join(', ')}`);
  return service;
}

const select = (names: readonly string[]): Service[] => names.map(serviceNamed);

/** Runs `fn` for each service in parallel; throws an InfraError naming every one that failed. */
async function forEach(list: Service[], fn: (s: Service) => Promise<boolean>): Promise<ServiceName[]> {
  const results = await Promise.allSettled(list.map(fn));
  const failures = results.flatMap((r, i) => {
    const svc = list[i] as Service;
    if (r.status === 'fulfilled') return [];
    return [r.reason instanceof ServiceError ? r.reason : new ServiceError(svc.name, String(r.reason), svc.logFile)];
  });
  if (failures.length > 0) throw new InfraError(failures);
  return list.filter((_, i) => (results[i] as PromiseFulfilledResult<boolean>).value).map((s) => s.name);
}

async function ensureStarted(svc: Service): Promise<boolean> {
  if (!(await svc.isInstalled())) {
    await svc.install().catch((err: Error) => {
      throw new ServiceError(svc.name, `install failed: ${err.message}`, svc.logFile);
    });
  }
  return svc.start();
}

/** Installs what is missing and starts what is not running; running services are left untouched. */
export async function infraUp(names?: readonly ServiceName[], setup: Setup = {}): Promise<{ started: ServiceName[] }> {
  const list = select(names ?? namesOf(setup));
  // in parallel, but after what a service starts after when that is among them
  const waits = (s: Service) => s.startsAfter?.some((name) => list.some((other) => other.name === name)) ?? false;
  const started = [
    ...(await forEach(
      list.filter((s) => !waits(s)),
      ensureStarted,
    )),
    ...(await forEach(list.filter(waits), ensureStarted)),
  ];
  log.info({ started }, started.length > 0 ? 'services started' : 'all services already running');
  return { started };
}

/**
 * Stops the services infra started (all of the setup by default; of the cluster, its own, as the
 * registry serves the single node too); Postgres, the machine's, keeps running. Data is kept.
 */
export async function infraDown(
  names?: readonly ServiceName[],
  setup: Setup = {},
): Promise<{ stopped: ServiceName[] }> {
  const stopped = await forEach(
    select(names ?? (setup.cluster ? CLUSTER_SERVICE_NAMES : SERVICE_NAMES)).filter((s) => s.owned),
    async (s) => {
      const running = (await s.pid()) !== undefined;
      await s.stop();
      return running;
    },
  );
  return { stopped };
}

/** Starts one service (installing it if needed) and waits until it answers; true if it was not running. */
export async function startService(name: ServiceName): Promise<boolean> {
  return ensureStarted(serviceNamed(name));
}

/** Stops one service infra started. Throws for Postgres, which infra never stops. */
export async function stopService(name: ServiceName): Promise<void> {
  await serviceNamed(name).stop();
}

/** SIGKILLs a service infra started, as a crash would (no shutdown of its own); false when it was not running. */
export function killService(name: ServiceName): Promise<boolean> {
  return signalService(name, 'SIGKILL');
}

/** Sends `signal` to a service infra started (SIGSTOP freezes it as a long GC pause would); false when it was not running. */
export async function signalService(name: ServiceName, signal: NodeJS.Signals): Promise<boolean> {
  const pid = await serviceNamed(name).pid();
  if (pid === undefined) return false;
  process.kill(pid, signal);
  return true;
}

export async function infraStatus(setup: Setup = {}): Promise<ServiceStatus[]> {
  return Promise.all(
    select(namesOf(setup)).map(async (s): Promise<ServiceStatus> => {
      const [up, pid, installed] = await Promise.all([s.health(), s.pid(), s.isInstalled()]);
      const version = up ? await s.version() : undefined;
      let note: string | null = null;
      if (!s.owned) note = "the machine's; down leaves it running";
      else if (!installed) note = 'not installed';
      else if (up && pid === undefined) note = 'not started by infra';
      return {
        service: s.name,
        ports: [...s.ports],
        pid: pid ?? null,
        health: up ? 'up' : 'down',
        version: version ?? null,
        owned: s.owned,
        log: s.logFile,
        note,
      };
    }),
  );
}
