/**
 * Server-sent events fed by polling: what upload progress, image dataset progress and training
 * job events share. Each poll gives the events to send and whether the stream is over; between
 * polls the stream sleeps; a client that leaves stops the polling.
 */
import type { Context } from 'hono';
import { streamSSE, type SSEMessage } from 'hono/streaming';

export interface Poll {
  events: SSEMessage[];
  /** the last poll: its events are sent, then the stream ends */
  done: boolean;
}

/**
 * Polls `poll` at once, then every `intervalMs`, writing its events, until it says done or the
 * client goes away.
 *
 * @example
 * ```ts
 * return pollingSSE(c, async () => ({ events: [{ event: 'tick', data: '{}' }], done: false }), 1000);
 * ```
 */
export function pollingSSE(c: Context, poll: () => Promise<Poll>, intervalMs: number): Response {
  return streamSSE(c, async (stream) => {
    let open = true;
    stream.onAbort(() => {
      open = false;
    });
    while (open) {
      const { events, done } = await poll();
      if (!open) return;
      for (const event of events) await stream.writeSSE(event);
      if (done) return;
      await stream.sleep(intervalMs);
    }
  });
}

/**
 * A progress stream: the whole state as one event per poll (`first` already read, so a missing
 * resource was a 404 before the stream began), named and numbered by `eventOf`, until it is done.
 *
 * @example
 * ```ts
 * const first = await results.progress(tenantId, id); // 404 before the stream starts
 * return progressSSE(c, first, () => results.progress(tenantId, id), (p) => ({ event: p.done ? 'done' : 'progress', id: String(p.rows), done: p.done }), 1000);
 * ```
 */
export function progressSSE<T>(
  c: Context,
  first: T,
  next: () => Promise<T>,
  eventOf: (state: T) => { event: string; id: string; done: boolean },
  intervalMs: number,
): Response {
  let state: T | undefined = first;
  return pollingSSE(
    c,
    async () => {
      const current = state ?? (await next());
      state = undefined;
      const { event, id, done } = eventOf(current);
      return { events: [{ event, id, data: JSON.stringify(current) }], done };
    },
    intervalMs,
  );
}

/**
 * progressSSE over `read`, called once before the stream begins: a resource the caller does not
 * have is answered with its 404, not with a stream that breaks off.
 *
 * @example
 * ```ts
 * return progressStream(c, () => results.progress(tenantId, id), (p) => ({ event: 'progress', id: String(p.rows), done: p.done }), 1000);
 * ```
 */
export async function progressStream<T>(
  c: Context,
  read: () => Promise<T>,
  eventOf: (state: T) => { event: string; id: string; done: boolean },
  intervalMs: number,
): Promise<Response> {
  return progressSSE(c, await read(), read, eventOf, intervalMs);
}
