/**
 * One live subscription to a topic for one SSE client: a short-lived consumer (its own group,
 * deleted afterwards) positioned at `now`, the earliest offset, a timestamp or explicit
 * partition offsets, handing over the caller's tenant's records one at a time. The consumer
 * awaits each delivery, so a client that stops reading stops the fetching; one that stays
 * stalled past `slowClientMs` is dropped rather than buffered without bound.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/schema-registry.ts';
import { errorKind } from '../core/errors.ts';

export type StartAt =
  | { kind: 'now' }
  | { kind: 'earliest' }
  | { kind: 'timestamp'; ms: number }
  | { kind: 'offsets'; offsets: Map<number, string> };

export interface LiveRecord {
  partition: number;
  offset: string;
  value: unknown;
}

export class SlowClientError extends errorKind('SlowClientError', { code: 'slow_client' }) {}

/** `now`, `earliest`, an ISO time or epoch ms, or `p:o[,p:o...]`; undefined when it is none of these. */
export function parseStartAt(from: string | undefined): StartAt | undefined {
  if (from === undefined || from === 'now') return { kind: 'now' };
  if (from === 'earliest') return { kind: 'earliest' };
  if (/^\d+(:\d+)(,\d+:\d+)*$/.test(from)) {
    return {
      kind: 'offsets',
      offsets: new Map(
        from
          .split(',')
          .map((pair) => pair.split(':'))
          .map(([p, o]) => [Number(p), o!]),
      ),
    };
  }
  const ms = /^\d{10,}$/.test(from) ? Number(from) : Date.parse(from);
  return Number.isNaN(ms) ? undefined : { kind: 'timestamp', ms };
}

export interface SubscribeOptions {
  kafka: Kafka;
  registry: Registry;
  log: Logger;
  topic: string;
  tenantId: string;
  startAt: StartAt;
  slowClientMs: number;
  deliver: (record: LiveRecord) => Promise<void>;
  /** Called once when the subscription ends for a reason other than `stop()`. */
  onEnd: (error?: Error) => void;
}

export async function subscribe(options: SubscribeOptions): Promise<{ stop(): Promise<void> }> {
  const { kafka, registry, topic, startAt } = options;
  const groupId = `millrace.stream.${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined); // best effort: nothing was committed
    await admin.disconnect();
  };

  // explicit start offsets, resolved now: `now` means the end of the log at request time, not at
  // whatever later moment the consumer first fetches
  const admin = kafka.admin();
  await admin.connect();
  let offsets: { partition: number; offset: string }[];
  try {
    if (startAt.kind === 'timestamp') {
      offsets = await admin.fetchTopicOffsetsByTimestamp(topic, startAt.ms);
    } else {
      // partitions not named in `offsets` start at the end, like `now`
      offsets = (await admin.fetchTopicOffsets(topic)).map((p) => ({
        partition: p.partition,
        offset:
          startAt.kind === 'earliest'
            ? p.low
            : startAt.kind === 'offsets'
              ? (startAt.offsets.get(p.partition) ?? p.high)
              : p.high,
      }));
    }
  } finally {
    await admin.disconnect();
  }

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      if (stopped) return;
      let value: { tenant_id?: unknown };
      try {
        value = (await registry.decode<{ tenant_id?: unknown }>(message.value)).value;
      } catch {
        return; // undecodable records are the DLQ's business (the pipelines route them there)
      }
      if (value.tenant_id !== options.tenantId) return;
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new SlowClientError(`client did not read for ${options.slowClientMs} ms`)),
          options.slowClientMs,
        );
      });
      try {
        await Promise.race([options.deliver({ partition, offset: message.offset, value }), stalled]);
      } catch (error) {
        options.log.warn({ topic, groupId, reason: (error as Error).message }, 'live stream dropped');
        void stop().finally(() => options.onEnd(error as Error));
      } finally {
        clearTimeout(timer);
      }
    },
  });

  for (const { partition, offset } of offsets) consumer.seek({ topic, partition, offset });
  return { stop };
}
