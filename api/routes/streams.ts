/** `GET /v1/streams/{topic}`: server-sent events of a streamable topic, for the caller's tenant. */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { AuthEnv } from '../auth/middleware.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { text } from '../schemas.ts';
import { parseStartAt, subscribe } from '../streams.ts';
import type { ApiDeps, Guards } from '../deps.ts';

const route = guardedRoutes('streams');

export function registerStreams(
  app: OpenAPIHono<AuthEnv>,
  { topics, streams: deps }: Pick<ApiDeps, 'topics' | 'streams'>,
  guards: Guards,
): void {
  const streamable = topics.filter((t) => t.streamable);
  app.openapi(
    route.get('/v1/streams/{topic}', {
      summary:
        "Live records of the caller's tenant as server-sent events (`record` events, id `partition:offset`; `heartbeat` events)",
      middleware: guards.read,
      request: {
        params: z.object({ topic: z.string() }),
        query: z.object({
          from: z.string().optional().openapi({
            description:
              '`now` (default), `earliest`, an ISO time or epoch ms, or `partition:offset[,partition:offset...]`',
          }),
        }),
      },
      responses: { 200: text('text/event-stream', 'an event stream') },
      errors: [400, 404],
    }),
    async (c) => {
      const name = c.req.valid('param').topic;
      const topic = streamable.find((t) => t.name === name);
      if (!topic) throw new ApiError(404, 'not_found', `topic "${name}" cannot be streamed`, 'topic');
      const startAt = parseStartAt(c.req.valid('query').from);
      if (!startAt)
        throw new ApiError(
          400,
          'invalid_request',
          'from must be now, earliest, a time, or partition:offset pairs',
          'from',
        );
      const { tenantId } = c.get('principal');
      return streamSSE(c, async (stream) => {
        let finish: () => void = () => {};
        const finished = new Promise<void>((resolve) => (finish = resolve));
        const subscription = await subscribe({
          ...deps,
          topic: topic.name,
          tenantId,
          startAt,
          deliver: (r) =>
            stream.writeSSE({ event: 'record', id: `${r.partition}:${r.offset}`, data: JSON.stringify(r.value) }),
          onEnd: () => finish(),
        });
        const heartbeat = setInterval(
          () => void stream.writeSSE({ event: 'heartbeat', data: new Date().toISOString() }).catch(() => finish()),
          deps.heartbeatMs,
        );
        stream.onAbort(() => finish());
        await stream.writeSSE({
          event: 'ready',
          data: JSON.stringify({ topic: topic.name, from: c.req.valid('query').from ?? 'now' }),
        });
        await finished;
        clearInterval(heartbeat);
        await subscription.stop();
      });
    },
  );
}
