/**
 * The ClickHouse sink on a shard of replicas (CLICKHOUSE_REPLICAS). Inserts go to one replica and
 * move to the next when it cannot be reached. What the table holds (its high water, the offsets of
 * a batch checked before a retry) is read only from a replica that holds every part the shard's
 * replication log names: a replica that lags, or whose fetches are held back, misses rows another
 * replica took, and reading it would write those rows again.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { syncReplicas } from '../../../core/clickhouse-replicated.ts';

/** Errors of a replica that did not answer, as opposed to an answer that refused the query. */
const UNREACHABLE = /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE|socket hang up|Timeout error/i;

export const isUnreachable = (error: unknown): boolean =>
  UNREACHABLE.test(`${(error as { code?: string }).code ?? ''} ${(error as Error).message ?? ''}`);

export class ClickHouseReplicas {
  private current = 0;

  /**
   * `clients`: one per replica, the preferred first; one client is a single server. `syncTimeoutS`:
   * how long one replica gets to catch up (SYSTEM SYNC REPLICA) before the next is asked.
   */
  constructor(
    private readonly clients: readonly ClickHouseClient[],
    private readonly syncTimeoutS = 15,
  ) {
    if (clients.length === 0) throw new Error('ClickHouseReplicas needs at least one client');
  }

  /** The replica inserts go to now. */
  get client(): ClickHouseClient {
    return this.clients[this.current]!;
  }

  /** After `error` from the current replica: when it was unreachable, the next call goes to the next one. */
  failed(error: unknown): void {
    if (isUnreachable(error)) this.current = (this.current + 1) % this.clients.length;
  }

  /**
   * A replica holding every part the replication log of `table` names, made the current one; each
   * is asked in turn from the current. Throws when none catches up in time (the part only a replica
   * that is down holds, say): the caller retries later rather than guess.
   */
  async caughtUp(table: string): Promise<ClickHouseClient> {
    const reasons: string[] = [];
    for (let i = 0; i < this.clients.length; i++) {
      const index = (this.current + i) % this.clients.length;
      try {
        await syncReplicas(this.clients[index]!, this.syncTimeoutS, [table]);
        this.current = index;
        return this.clients[index]!;
      } catch (error) {
        reasons.push(`replica ${index + 1}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    throw new Error(`no replica of ${table} caught up with its replication log (${reasons.join('; ')})`);
  }

  close(): Promise<unknown> {
    return Promise.all(this.clients.map((c) => c.close()));
  }
}
