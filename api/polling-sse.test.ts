import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { pollingSSE, progressSSE } from './polling-sse.ts';

const eventsOf = (text: string) =>
  text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1],
      id: /^id: (.*)$/m.exec(block)?.[1],
      data: /^data: (.*)$/m.exec(block)?.[1],
    }));

describe('pollingSSE', () => {
  it("writes each poll's events until one says done", async () => {
    let polls = 0;
    const app = new Hono().get('/', (c) =>
      pollingSSE(
        c,
        async () => {
          polls++;
          return { events: [{ event: 'tick', id: String(polls), data: String(polls) }], done: polls === 3 };
        },
        1,
      ),
    );
    const events = eventsOf(await (await app.request('/')).text());
    assert.deepEqual(
      events.map((e) => e.id),
      ['1', '2', '3'],
    );
    assert.equal(polls, 3);
  });
});

describe('progressSSE', () => {
  it('sends the first state without reading it again, then each next one, naming the last by its state', async () => {
    const states = [
      { n: 2, done: false },
      { n: 3, done: true },
    ];
    const app = new Hono().get('/', (c) =>
      progressSSE(
        c,
        { n: 1, done: false },
        async () => states.shift()!,
        (s) => ({ event: s.done ? 'done' : 'progress', id: String(s.n), done: s.done }),
        1,
      ),
    );
    const events = eventsOf(await (await app.request('/')).text());
    assert.deepEqual(
      events.map((e) => [e.event, e.id]),
      [
        ['progress', '1'],
        ['progress', '2'],
        ['done', '3'],
      ],
    );
    assert.deepEqual(JSON.parse(events[2]!.data!), { n: 3, done: true });
  });
});
