/**
 * A Postgres LISTEN that survives the server: a dedicated connection that, when lost, reconnects
 * with the one back-off (core/backoff.ts) and tells its owner each time it is listening again,
 * since notifications sent while nobody listened are never delivered.
 */
import { Socket } from 'node:net';
import pg from 'pg';
import { backoff } from './backoff.ts';
import { loadConfig } from './config.ts';
import type { Logger } from './logger.ts';

export interface ListenOptions {
  log: Logger;
  /** The connection's application_name, which pg_stat_activity shows (operators and tests find it by it). */
  applicationName: string;
  /** Fields every log line of this listener carries (what it listens for). */
  bindings?: Record<string, unknown>;
  /** The first reconnection waits about this long, each further one twice as long (capped at 30 s). */
  reconnectMs?: number;
  /** Called after every (re)connection: catch up on what was missed meanwhile. */
  onListening: () => void;
}

export interface PgListener {
  close(): Promise<void>;
}

const RECONNECT_CAP_MS = 30_000;

/**
 * Listens on `channel` until closed; a first connection that fails is retried like a lost one.
 *
 * @example
 * const listener = await listenToChannel('model_activated', (payload) => payload === modelId && reload(), {
 *   log,
 *   applicationName: 'millrace-model-watch',
 *   onListening: () => reload(), // activations while nobody listened were not delivered
 * });
 * await listener.close();
 */
export async function listenToChannel(
  channel: string,
  onNotify: (payload: string | undefined) => void,
  options: ListenOptions,
): Promise<PgListener> {
  const { log, applicationName, bindings = {}, reconnectMs = 1000, onListening } = options;
  let closed = false;
  let listener: pg.Client | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let attempt = 0;

  const connect = async () => {
    reconnectTimer = undefined;
    const client = new pg.Client({
      connectionString: loadConfig().POSTGRES_URL,
      application_name: applicationName,
      keepAlive: true,
      // the listener serves a process that something else keeps alive (a processor's consumer): it never does so alone
      stream: () => new Socket().unref(),
    });
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (listener === client) listener = undefined;
      void client.end().catch(() => undefined);
      if (closed) return;
      const retryMs = backoff({ attempt: ++attempt, baseMs: reconnectMs, capMs: RECONNECT_CAP_MS, jitter: 'equal' });
      log.warn({ ...bindings, err: error, retry_ms: retryMs }, 'listener connection lost, reconnecting');
      reconnectTimer = setTimeout(() => void connect(), retryMs);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => {
      if (message.channel === channel) onNotify(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
    } catch (error) {
      onLost(error as Error);
      return;
    }
    if (closed) {
      await client.end();
      return;
    }
    listener = client;
    attempt = 0;
    onListening();
  };

  await connect();
  return {
    async close() {
      closed = true;
      clearTimeout(reconnectTimer);
      await listener?.end();
    },
  };
}
