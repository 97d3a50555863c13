/**
 * A running role's report to Postgres (`role_instances`), every few seconds: who it is, where its
 * metrics are, its consumer group, its own counters and rates, and its last error. Pipeline
 * status (core/pipeline-status.ts) reads these beside the consumer groups; a row whose heartbeat
 * stops without `stopped_at` is a process that died.
 */
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import type { Counter } from 'prom-client';
import { lastLoggedError, type Logger } from './logger.ts';
import { metrics } from './metrics.ts';
import type { Pool } from './postgres.ts';

export const HEARTBEAT_MS = 5_000;
/** Rows of processes gone this long are deleted by the next heartbeat of the same role. */
const KEEP_GONE_MS = 24 * 60 * 60 * 1000;

export interface RoleIdentity {
  role: 'processor' | 'sink' | 'trainer' | 'source';
  name: string;
  /** its Kafka consumer group and the topics it reads (a source reads none) */
  groupId?: string;
  topics: readonly string[];
  metricsUrl?: string;
}

async function total(counter: Counter<'role' | 'name'>, role: string, name: string): Promise<number> {
  const { values } = await counter.get();
  return values.filter((v) => v.labels.role === role && v.labels.name === name).reduce((sum, v) => sum + v.value, 0);
}

/**
 * Reports now and every `intervalMs` until `stop()`, which writes `stopped_at` (a clean stop).
 * `restarts` comes from MILLRACE_RESTARTS, which the supervisor sets on each start.
 *
 * @example
 * ```ts
 * const heartbeat = await startHeartbeat(db, { role: 'sink', name, groupId, topics: [topic] }, log);
 * onShutdown('heartbeat', () => heartbeat.stop());
 * ```
 */
export async function startHeartbeat(
  db: Pool,
  identity: RoleIdentity,
  log: Logger,
  intervalMs = HEARTBEAT_MS,
): Promise<{ stop(): Promise<void> }> {
  const started = new Date();
  // roles under `millrace start` are threads of one process: the thread keeps their ids apart
  const id = `${hostname()}:${process.pid}:${threadId}:${started.getTime()}`;
  const { role, name } = identity;
  let previous = { at: Date.now(), in: 0, out: 0 };

  const beat = async () => {
    const [recordsIn, recordsOut, dlq] = await Promise.all([
      total(metrics.recordsIn, role, name),
      total(metrics.recordsOut, role, name),
      total(metrics.dlq, role, name),
    ]);
    const now = Date.now();
    const seconds = Math.max((now - previous.at) / 1000, 0.001);
    const rates = { in: (recordsIn - previous.in) / seconds, out: (recordsOut - previous.out) / seconds };
    previous = { at: now, in: recordsIn, out: recordsOut };
    const error = lastLoggedError();
    await db.query(
      `INSERT INTO role_instances (id, role, name, host, pid, group_id, topics, metrics_url, restarts, started_at, heartbeat_at,
         records_in, records_out, dlq_records, in_per_s, out_per_s, last_error, last_error_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), $11, $12, $13, $14, $15, $16, $17)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), records_in = $11, records_out = $12, dlq_records = $13,
         in_per_s = $14, out_per_s = $15, last_error = $16, last_error_at = $17`,
      [
        id,
        role,
        name,
        hostname(),
        process.pid,
        identity.groupId ?? null,
        identity.topics,
        identity.metricsUrl ?? null,
        Number(process.env.MILLRACE_RESTARTS ?? 0),
        started,
        recordsIn,
        recordsOut,
        dlq,
        rates.in,
        rates.out,
        error?.message ?? null,
        error?.at ?? null,
      ],
    );
  };
  await beat();
  await db.query(
    `DELETE FROM role_instances WHERE role = $1 AND name = $2 AND id <> $3 AND heartbeat_at < now() - make_interval(secs => $4)`,
    [role, name, id, KEEP_GONE_MS / 1000],
  );
  const timer = setInterval(() => {
    beat().catch((error: Error) => log.warn({ reason: error.message }, 'heartbeat not written'));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await beat().catch(() => undefined); // the last counters, best effort
      await db.query('UPDATE role_instances SET stopped_at = now() WHERE id = $1', [id]);
    },
  };
}
