/** Unit tests of core/batch-retry.ts with a fake consumer and batch payload: pause, retry, resume, drop. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryBatch, type BatchRetry } from './batch-retry.ts';
import { pino } from 'pino';

function harness(overrides: Partial<BatchRetry> = {}) {
  const events: string[] = [];
  const retry: BatchRetry = {
    consumer: { pause: () => void events.push('pause'), resume: () => void events.push('resume') },
    payload: {
      batch: { topic: 't', partition: 3 } as BatchRetry['payload']['batch'],
      heartbeat: async () => void events.push('heartbeat'),
      isRunning: () => true,
      isStale: () => false,
    },
    baseMs: 5,
    capMs: 20,
    signal: new AbortController().signal,
    log: pino({ level: 'silent' }),
    labels: { role: 'test', name: 'batch-retry' },
    ...overrides,
  };
  return { retry, events };
}

describe('retryBatch', () => {
  it('returns at once when the first attempt succeeds, touching nothing', async () => {
    const { retry, events } = harness();
    assert.equal(await retryBatch(retry, 'write', async () => 42), 42);
    assert.deepEqual(events, []);
  });

  it('pauses once, heartbeats while waiting, resumes on success; attempts after the first are retries', async () => {
    const { retry, events } = harness();
    const seen: boolean[] = [];
    const result = await retryBatch(retry, 'write', async (retrying) => {
      seen.push(retrying);
      if (seen.length < 3) throw new Error('database down');
      return 'ok';
    });
    assert.equal(result, 'ok');
    assert.deepEqual(seen, [false, true, true]);
    assert.deepEqual(events, ['pause', 'heartbeat', 'heartbeat', 'resume']);
  });

  it('a fatal error is thrown without a retry', async () => {
    const { retry, events } = harness({ isFatal: (error) => (error as Error).message === 'bad spec' });
    await assert.rejects(
      retryBatch(retry, 'write', async () => Promise.reject(new Error('bad spec'))),
      /bad spec/,
    );
    assert.deepEqual(events, []);
  });

  it('a stop drops the batch (undefined) and resumes the partition', async () => {
    const stopping = new AbortController();
    const { retry, events } = harness({ signal: stopping.signal, baseMs: 60_000, capMs: 60_000 });
    const dropped = retryBatch(retry, 'write', async () => Promise.reject(new Error('down')));
    setTimeout(() => stopping.abort(), 10);
    assert.equal(await dropped, undefined);
    assert.deepEqual(events, ['pause', 'resume']);
  });

  it('a stale batch (the partition moved) is dropped after the wait', async () => {
    const { retry } = harness();
    retry.payload = { ...retry.payload, isStale: () => true };
    assert.equal(await retryBatch(retry, 'write', async () => Promise.reject(new Error('down'))), undefined);
  });
});
