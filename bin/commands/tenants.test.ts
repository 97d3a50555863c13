import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ErasureReport } from '../../domain/tenants/erasure.ts';
import { formatReport } from './tenants.ts';

const report: ErasureReport = {
  tenant: 'acme',
  erased_at: '2026-12-07T01:00:00.000Z',
  name_free_at: '2027-12-07T01:00:00.000Z',
  keys_revoked: 2,
  postgres: { api_keys: 2, uploads: 1 },
  clickhouse: {},
  sql_user_dropped: false,
  files_removed: 1,
  tombstones: [{ topic: 'ops.deadletters.redriven', written: 1 }],
  remains_in_log: [
    { topic: 'a.b.c', records: 0, unattributed: 0, retention_ms: 1000, gone_after: null, complete: true },
    {
      topic: 'market.quotes.raw',
      records: 5,
      unattributed: 0,
      retention_ms: 1000,
      gone_after: '2026-12-07T01:00:01.000Z',
      complete: false,
    },
  ],
};

describe('formatReport', () => {
  it('says what went, and lists only the topics still holding records, a partial count as a lower bound', () => {
    const text = formatReport(report);
    assert.match(text, /postgres rows deleted: api_keys 2, uploads 1\n/);
    assert.match(text, /clickhouse rows deleted: none\n/);
    assert.match(text, /sql user dropped: none\n/);
    assert.match(text, /market\.quotes\.raw: at least 5 records, gone after 2026-12-07T01:00:01\.000Z$/);
    assert.doesNotMatch(text, /a\.b\.c/);
  });

  it('says when nothing remains in the log', () => {
    assert.match(formatReport({ ...report, remains_in_log: [] }), /remains in the log: nothing$/);
  });
});
