/** What every local service looks like to `up`, `down` and `status`. */
import { tail } from './process.ts';
import { MillraceError } from '../core/errors.ts';

export const SERVICE_NAMES = ['postgres', 'clickhouse', 'kafka', 'registry'] as const;
/** The local cluster's own services (infra/cluster.ts); it shares Postgres and the registry. */
export const CLUSTER_SERVICE_NAMES = [
  'zookeeper',
  'kafka-1',
  'kafka-2',
  'kafka-3',
  'clickhouse-1',
  'clickhouse-2',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number] | (typeof CLUSTER_SERVICE_NAMES)[number];

export interface Service {
  readonly name: ServiceName;
  /** The TCP ports it listens on, the client port first. */
  readonly ports: readonly number[];
  readonly logFile: string;
  /** False for Postgres: it is the machine's, so `down` leaves it running. */
  readonly owned: boolean;
  /** Started together with these, it starts once they answer (a ClickHouse replica exits when ZooKeeper does not). */
  readonly startsAfter?: readonly ServiceName[];
  isInstalled(): Promise<boolean>;
  /** Fetches and unpacks what the service needs; says what it does, as it can take minutes. */
  install(): Promise<void>;
  /** Starts it unless it already answers, then waits until it does. True if this call started it. */
  start(): Promise<boolean>;
  /** Does it answer a real request right now (a few seconds at most)? */
  health(): Promise<boolean>;
  /** Stops it if we started it; data is kept. */
  stop(): Promise<void>;
  /** The pid of its main process, when known. */
  pid(): Promise<number | undefined>;
  /** Its version, asked from the running service where that is cheap. */
  version(): Promise<string | undefined>;
}

/** A service failed to install or start; the message names it and ends with its recent log. */
export class ServiceError extends MillraceError {
  override name = 'ServiceError';
  override readonly code = 'service_failed';
  constructor(
    readonly service: ServiceName,
    problem: string,
    readonly logFile: string,
  ) {
    const recent = tail(logFile, 20);
    super(`${service}: ${problem} (log: ${logFile})${recent ? `\n--- last lines of ${logFile} ---\n${recent}` : ''}`);
  }
}
