import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { FetchLog, type FetchLogEntry } from './fetch-log.ts';

const entry = (url: string): FetchLogEntry => ({
  crawl: 'c',
  url,
  final_url: url,
  status: 200,
  bytes: 1,
  ms: 1,
  attempt: 1,
  outcome: 'ok',
  fetched_at: new Date(0),
});

/** Records what is inserted; the first `failures` inserts fail, as when ClickHouse is away. */
function clickhouse(failures: number) {
  const inserted: string[][] = [];
  const client = {
    insert: async ({ values }: { values: { url: string }[] }) => {
      if (failures-- > 0) throw new Error('ClickHouse is away');
      inserted.push(values.map((v) => v.url));
    },
  };
  return { client: client as unknown as ClickHouseClient, inserted };
}

describe('the fetch log', () => {
  it('writes again after a failed insert: one failure does not fail every later flush', async () => {
    const { client, inserted } = clickhouse(1);
    const log = new FetchLog(client);
    log.record(entry('a'));
    await assert.rejects(log.flush(), /away/);
    log.record(entry('b'));
    await log.flush();
    assert.deepEqual(inserted, [['b']]);
  });

  it('a flush it starts itself (batch full) that fails is no unhandled rejection, and later ones succeed', async () => {
    const { client, inserted } = clickhouse(1);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const log = new FetchLog(client, 1);
      log.record(entry('a')); // flushes by itself, and fails
      log.record(entry('b'));
      await log.flush();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(inserted, [['b']]);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
