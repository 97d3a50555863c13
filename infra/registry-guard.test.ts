/** Unit tests of infra/registry-guard.ts: which requests pass, which become lookups, which are refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decide,
  hasCredentials,
  notRegisteredMessage,
  platformSubjectsOf,
  type GuardPolicy,
} from './registry-guard.ts';

const base = '/apis/ccompat/v7';
const policy: GuardPolicy = { base, platformSubjects: platformSubjectsOf(['finance.statements.raw']) };
const credentials = { username: 'millrace-provision', password: 's3cret' };

describe('registry guard', () => {
  it("keeps the key and value subjects of the catalogue's topics and of their DLQs", () => {
    assert.deepEqual([...policy.platformSubjects].sort(), [
      'finance.statements.raw-key',
      'finance.statements.raw-value',
      'finance.statements.raw.dlq-key',
      'finance.statements.raw.dlq-value',
    ]);
  });

  it('answers a registration on a platform subject with a lookup; reads and lookups pass', () => {
    const subject = 'finance.statements.raw-value';
    assert.deepEqual(decide(policy, 'POST', `${base}/subjects/${subject}/versions?normalize=false`, false), {
      action: 'lookup',
      subject,
    });
    for (const [method, url] of [
      ['POST', `${base}/subjects/${subject}`],
      ['GET', `${base}/subjects/${subject}/versions/latest`],
      ['POST', `${base}/compatibility/subjects/${subject}/versions/latest`],
      ['GET', '/apis/registry/v3/system/info'],
    ] as const) {
      assert.deepEqual(decide(policy, method, url, false), { action: 'forward' }, `${method} ${url}`);
    }
  });

  it('refuses deleting a platform subject or changing its compatibility, however the path is spelled', () => {
    for (const [method, url] of [
      ['DELETE', `${base}/subjects/finance.statements.raw-value`],
      ['DELETE', `${base}/subjects/finance.statements.raw-value/versions/1?permanent=true`],
      ['PUT', `${base}/config/finance.statements.raw-value`],
      ['DELETE', `${base}/config/finance.statements.raw.dlq-value`],
      ['PUT', `${base}/mode/finance.statements.raw-key`],
      ['DELETE', `${base}/subjects/finance%2Estatements%2Eraw-value`],
      ['DELETE', `${base}/x/../subjects//finance.statements.raw-value/`],
      ['DELETE', `${base}/%2e%2e/v7/subjects/finance.statements.raw-value`],
    ] as const) {
      const decision = decide(policy, method, url, false);
      assert.equal(decision.action, 'refuse', `${method} ${url}`);
      assert.match(
        decision.action === 'refuse' ? `${decision.status} ${decision.errorCode} ${decision.message}` : '',
        /^422 42205 subject finance\.statements\.raw(\.dlq)?-(key|value) is read-only: .*millrace provision/,
      );
    }
  });

  it("refuses writes through Apicurio's own API, and lets tenants' subjects and the credentials through", () => {
    const decision = decide(policy, 'PUT', '/apis/registry/v3/admin/config/properties/x', false);
    assert.equal(decision.action === 'refuse' && decision.status, 403);
    for (const [method, url] of [
      ['POST', `${base}/subjects/acme.orders-value/versions`],
      ['DELETE', `${base}/subjects/acme.orders-value`],
      ['PUT', `${base}/config/acme.orders-value`],
    ] as const) {
      assert.deepEqual(decide(policy, method, url, false), { action: 'forward' }, `${method} ${url}`);
    }
    assert.deepEqual(decide(policy, 'POST', `${base}/subjects/finance.statements.raw-value/versions`, true), {
      action: 'forward',
    });
    assert.deepEqual(decide(policy, 'PUT', '/apis/registry/v3/admin/config/properties/x', true), { action: 'forward' });
  });

  it('knows the credentials only when given exactly', () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    assert.ok(hasCredentials(basic('millrace-provision', 's3cret'), credentials));
    assert.ok(!hasCredentials(basic('millrace-provision', 's3cre'), credentials));
    assert.ok(!hasCredentials(basic('someone', 's3cret'), credentials));
    assert.ok(!hasCredentials(undefined, credentials));
    assert.ok(!hasCredentials('Bearer s3cret', credentials));
  });

  it('says why a registration was refused and what to do instead', () => {
    assert.match(notRegisteredMessage('finance.statements.raw-value'), /versions\/latest.*use\.latest\.version/);
    assert.match(notRegisteredMessage('finance.statements.raw-key'), /UTF-8 string keys \(StringSerializer\)/);
  });
});
