/** Server-sent events parsing: one event from the text between two blank lines. */
export interface ServerEvent {
  event: string;
  id: string | undefined;
  data: string;
}

function parseEventBlock(block: string): ServerEvent {
  let [event, id] = ['message', undefined as string | undefined];
  const data: string[] = [];
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // blank, or a comment
    const [name, text] = [line.slice(0, colon), line.slice(colon + 1).replace(/^ /, '')];
    if (name === 'data') data.push(text);
    else if (name === 'event') event = text;
    else if (name === 'id') id = text;
  }
  return { event, id, data: data.join('\n') };
}

/** Cuts complete events off the front of `buffer`; returns them and what is left. */
export function splitEvents(buffer: string): { events: ServerEvent[]; rest: string } {
  const blocks = buffer.replace(/\r\n/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  return { events: blocks.map(parseEventBlock), rest };
}
