import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { pollingSSE, progressSSE, progressStream } from './polling-sse.ts';

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

describe('progressStream', () => {
  const eventOf = (s: { n: number; done: boolean }) => ({
    event: s.done ? 'done' : 'progress',
    id: String(s.n),
    done: s.done,
  });

  it('sends the state read before the stream, then each next one', async () => {
    const states = [
      { n: 1, done: false },
      { n: 2, done: true },
    ];
    let reads = 0;
    const app = new Hono().get('/', (c) =>
      progressStream(
        c,
        async () => {
          reads++;
          return states.shift()!;
        },
        eventOf,
        1,
      ),
    );
    const events = eventsOf(await (await app.request('/')).text());
    assert.deepEqual(
      events.map((e) => [e.event, e.id]),
      [
        ['progress', '1'],
        ['done', '2'],
      ],
    );
    assert.equal(reads, 2);
  });

  it('answers a refused first read with its error, opening no stream', async () => {
    const app = new Hono()
      .get('/', (c) => progressStream(c, () => Promise.reject(new Error('no such upload')), eventOf, 1))
      .onError((error, c) => c.text(error.message, 404));
    const response = await app.request('/');
    assert.equal(response.status, 404);
    assert.equal(await response.text(), 'no such upload');
  });
});
