/**
 * The patched kafkajs request queue (patches/kafkajs+2.2.4.patch): an idle client arms no timer.
 * As published, every response re-armed a 1 ms timer that re-armed itself for as long as nothing
 * was pending (tulios/kafkajs#1556): about 4.5 % of a core per idle role, most of `millrace start`'s
 * CPU at rest. Requests held back by throttling or the in-flight limit must still go out. And the
 * request-timeout check of each connection runs every 30th of the timeout (at most 1 s), not every 100 ms.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';

interface Queue {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  requestTimeoutIntervalId?: NodeJS.Timeout;
  scheduleRequestTimeoutCheck(): void;
  destroy(): void;
  pending: unknown[];
  push(request: { entry: object; expectResponse: boolean; sendRequest: () => void }): void;
  checkPendingRequests(): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
}
type QueueClass = new (options: object) => Queue;

const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as QueueClass;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const queues: Queue[] = [];
const queue = (maxInFlightRequests: number, requestTimeout = 30_000) => {
  const q = new RequestQueue({
    maxInFlightRequests,
    requestTimeout,
    enforceRequestTimeout: true,
    clientId: 't',
    broker: 'b:9092',
    logger: silent,
  });
  queues.push(q);
  return q;
};
// unpatched, a queue's timer re-arms itself forever and would keep the test process alive
after(() => queues.forEach((q) => q.destroy()));
const request = (correlationId: number, sent: number[]) => ({
  entry: { correlationId, apiKey: 1, apiName: 'Fetch', apiVersion: 11, resolve() {}, reject() {} },
  expectResponse: true,
  sendRequest: () => sent.push(correlationId),
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('kafkajs request queue (patched)', () => {
  it('arms no timer when nothing is pending and nothing throttled', () => {
    const q = queue(1);
    q.checkPendingRequests();
    assert.equal(q.throttleCheckTimeoutId, null, 'an idle queue schedules no check');
    const sent: number[] = [];
    q.push(request(1, sent));
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    assert.deepEqual(sent, [1]);
    assert.equal(q.throttleCheckTimeoutId, null, 'a response on an idle queue schedules no check');
  });

  it('still sends a request held back by the in-flight limit when the one in flight is answered', async () => {
    const q = queue(1);
    const sent: number[] = [];
    q.push(request(1, sent));
    q.push(request(2, sent));
    assert.deepEqual(sent, [1], 'the second waits');
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    assert.deepEqual(sent, [1, 2]);
    q.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
    await sleep(50); // the check armed while the second waited has run, and armed no other
    assert.equal(q.throttleCheckTimeoutId, null);
  });

  it('still sends a request held back by throttling once the throttle ends', async () => {
    const q = queue(10);
    q.throttledUntil = Date.now() + 30;
    const sent: number[] = [];
    q.push(request(1, sent));
    assert.deepEqual(sent, [], 'throttled: enqueued');
    await sleep(100);
    assert.deepEqual(sent, [1], 'sent when the throttle ended');
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    await sleep(50);
    assert.equal(q.throttleCheckTimeoutId, null);
  });

  it('checks request timeouts every 30th of the timeout, 100 ms to 1 s', () => {
    const period = (requestTimeout: number) => {
      const q = queue(1, requestTimeout);
      q.scheduleRequestTimeoutCheck();
      const ms = (q.requestTimeoutIntervalId as unknown as { _idleTimeout: number })._idleTimeout; // its period
      q.destroy();
      return ms;
    };
    assert.equal(period(30_000), 1_000, 'the default 30 s timeout: once a second');
    assert.equal(period(6_000), 200);
    assert.equal(period(1_000), 100);
  });
});
