/** What /readyz checks: each backing service answers, each within a short timeout. */
import type { Kafka } from 'kafkajs';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { Pool } from '../core/postgres.ts';
import type { Registry } from '../core/schema-registry.ts';

export type Check = () => Promise<void>;

export function serviceChecks(deps: {
  kafka: Kafka;
  registry: Registry;
  clickhouse: ClickHouseClient;
  postgres: Pool;
}): Record<string, Check> {
  return {
    kafka: async () => {
      const admin = deps.kafka.admin();
      await admin.connect();
      try {
        await admin.describeCluster();
      } finally {
        await admin.disconnect();
      }
    },
    registry: async () => {
      await deps.registry.subjects();
    },
    clickhouse: async () => {
      const result = await deps.clickhouse.ping();
      if (!result.success) throw result.error;
    },
    postgres: async () => {
      await deps.postgres.query('SELECT 1');
    },
  };
}

export async function runChecks(
  checks: Record<string, Check>,
  timeoutMs = 3000,
): Promise<Record<string, { ok: boolean; error?: string }>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs).unref(),
          ),
        ]);
        return [name, { ok: true }] as const;
      } catch (error) {
        return [name, { ok: false, error: (error as Error).message }] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}
