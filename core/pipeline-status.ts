/**
 * The pipelines as they run: each role (a processor, a sink) with its state, its live processes,
 * its consumer group's members and their partitions, lag per partition, records in/out per second,
 * dead letters, restarts and last error. The processes report themselves (core/role-heartbeat.ts);
 * the group, its assignment and its committed offsets come from Kafka, so lag is the broker's
 * figure, not the role's belief.
 */
import { AssignerProtocol, type Admin, type Kafka } from 'kafkajs';
import type { Pool } from './postgres.ts';
import { HEARTBEAT_MS } from './role-heartbeat.ts';

/** A process whose heartbeat is older than this is not counted as live. */
export const LIVE_WITHIN_MS = 3 * HEARTBEAT_MS;

export interface PartitionLag {
  topic: string;
  partition: number;
  /** the group's committed offset (null: nothing committed yet, so its start counts) */
  committed: string | null;
  end: string;
  lag: number;
}

export interface RoleStatus {
  role: string;
  name: string;
  /** running: a live process; stopped: the last one stopped cleanly; down: the last one's heartbeat stopped */
  state: 'running' | 'stopped' | 'down';
  instances: {
    id: string;
    host: string;
    pid: number;
    metrics_url: string | null;
    started_at: string;
    heartbeat_at: string;
  }[];
  /** null for a role that reads no topic (a source) */
  group: {
    id: string;
    state: string;
    members: {
      member_id: string;
      client_id: string;
      host: string;
      partitions: { topic: string; partition: number }[];
    }[];
  } | null;
  partitions: PartitionLag[];
  lag: number;
  records_in_per_s: number;
  records_out_per_s: number;
  /** since each live process started */
  records_in: number;
  records_out: number;
  dlq_records: number;
  restarts: number;
  last_error: { message: string; at: string } | null;
}

interface InstanceRow {
  id: string;
  role: string;
  name: string;
  host: string;
  pid: number;
  group_id: string | null;
  topics: string[];
  metrics_url: string | null;
  restarts: number;
  started_at: Date;
  heartbeat_at: Date;
  stopped_at: Date | null;
  records_in: string;
  records_out: string;
  dlq_records: string;
  in_per_s: number;
  out_per_s: number;
  last_error: string | null;
  last_error_at: Date | null;
}

async function groupOf(admin: Admin, groupId: string): Promise<NonNullable<RoleStatus['group']>> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0];
  return {
    id: groupId,
    state: group?.state ?? 'Unknown',
    members: (group?.members ?? []).map((m) => {
      const decoded = m.memberAssignment.length ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
      const partitions = Object.entries(decoded?.assignment ?? {}).flatMap(([topic, ps]) =>
        ps.map((partition) => ({ topic, partition })),
      );
      return { member_id: m.memberId, client_id: m.clientId, host: m.clientHost, partitions };
    }),
  };
}

async function lagOf(
  admin: Admin,
  groupId: string,
  wanted: readonly string[],
  existing: ReadonlySet<string>,
): Promise<PartitionLag[]> {
  // a role of a topic since deleted has no lag to show (and Kafka refuses to answer for it)
  const topics = wanted.filter((t) => existing.has(t));
  if (topics.length === 0) return [];
  const committed = await admin.fetchOffsets({ groupId, topics });
  const lags: PartitionLag[] = [];
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const mine = new Map(committed.find((c) => c.topic === topic)?.partitions.map((p) => [p.partition, p.offset]));
    for (const { partition, high, low } of ends) {
      const offset = mine.get(partition);
      const at = offset === undefined || offset === '-1' ? null : offset;
      lags.push({
        topic,
        partition,
        committed: at,
        end: high,
        lag: Math.max(Number(BigInt(high) - BigInt(at ?? low)), 0),
      });
    }
  }
  return lags.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/**
 * Every role that reported in the last day, newest processes first.
 *
 * @example
 * ```ts
 * for (const r of await pipelineStatus(db, kafka)) console.log(r.role, r.name, r.state, r.lag);
 * ```
 */
export async function pipelineStatus(db: Pool, kafka: Kafka): Promise<RoleStatus[]> {
  const { rows } = await db.query<InstanceRow>(
    `SELECT * FROM role_instances WHERE heartbeat_at > now() - interval '1 day' ORDER BY role, name, started_at DESC`,
  );
  const byRole = new Map<string, InstanceRow[]>();
  for (const row of rows) {
    const key = `${row.role} ${row.name}`;
    byRole.set(key, [...(byRole.get(key) ?? []), row]);
  }
  const now = Date.now();
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const statuses: RoleStatus[] = [];
    for (const instances of byRole.values()) {
      const latest = instances[0]!;
      const live = instances.filter((i) => !i.stopped_at && now - i.heartbeat_at.getTime() < LIVE_WITHIN_MS);
      const errored = instances.filter((i) => i.last_error_at).sort((a, b) => +b.last_error_at! - +a.last_error_at!)[0];
      const partitions = latest.group_id ? await lagOf(admin, latest.group_id, latest.topics, existing) : [];
      const sum = (pick: (i: InstanceRow) => number) => live.reduce((s, i) => s + pick(i), 0);
      statuses.push({
        role: latest.role,
        name: latest.name,
        state: live.length > 0 ? 'running' : latest.stopped_at ? 'stopped' : 'down',
        instances: live.map((i) => ({
          id: i.id,
          host: i.host,
          pid: i.pid,
          metrics_url: i.metrics_url,
          started_at: i.started_at.toISOString(),
          heartbeat_at: i.heartbeat_at.toISOString(),
        })),
        group: latest.group_id ? await groupOf(admin, latest.group_id) : null,
        partitions,
        lag: partitions.reduce((s, p) => s + p.lag, 0),
        records_in_per_s: sum((i) => i.in_per_s),
        records_out_per_s: sum((i) => i.out_per_s),
        records_in: sum((i) => Number(i.records_in)),
        records_out: sum((i) => Number(i.records_out)),
        dlq_records: sum((i) => Number(i.dlq_records)),
        restarts: latest.restarts,
        last_error: errored ? { message: errored.last_error!, at: errored.last_error_at!.toISOString() } : null,
      });
    }
    return statuses;
  } finally {
    await admin.disconnect();
  }
}
