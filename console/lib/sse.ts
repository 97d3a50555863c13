/**
 * Server-sent events read with fetch, since EventSource cannot send an Authorization header.
 */
import { authHeaders, failure } from './api.ts';
import { splitEvents, type ServerEvent } from './sse-parse.ts';

/** Reads the events of `path` until the stream ends or `signal` aborts. */
export async function readEvents(
  path: string,
  signal: AbortSignal,
  onEvent: (event: ServerEvent) => void,
): Promise<void> {
  const response = await fetch(path, { headers: { ...authHeaders(), accept: 'text/event-stream' }, signal });
  if (!response.ok) throw await failure(response);
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const { events, rest } = splitEvents(buffer + value);
    buffer = rest;
    events.forEach(onEvent);
  }
}
