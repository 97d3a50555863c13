import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, fingerprintOf } from './idempotency.ts';
import { IDEMPOTENCY_KEY_FORMAT } from './schemas.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const JSON_TYPE = 'application/json';

describe('idempotency fingerprints', () => {
  it('canonical JSON orders every object key, at any depth, and keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }, 4] }), '{"a":[{"c":3,"d":2},4],"b":1}');
    assert.equal(canonicalJson([3, 1, 2]), '[3,1,2]');
    assert.equal(canonicalJson(JSON.parse('{"__proto__":1,"a":2}')), '{"__proto__":1,"a":2}');
  });

  it('one JSON value is one fingerprint, whatever its spacing and key order', () => {
    const first = fingerprintOf('POST', '/v1/keys', JSON_TYPE, bytes('{"role":"reader","label":"ci"}'));
    assert.equal(fingerprintOf('POST', '/v1/keys', JSON_TYPE, bytes('{ "label": "ci",\n "role": "reader" }')), first);
    assert.equal(
      fingerprintOf('POST', '/v1/keys', 'application/json; charset=utf-8', bytes('{"label":"ci","role":"reader"}')),
      first,
    );
  });

  it('another value, method, path or query is another fingerprint', () => {
    const body = bytes('{"role":"reader"}');
    const first = fingerprintOf('POST', '/v1/keys', JSON_TYPE, body);
    const others = [
      fingerprintOf('POST', '/v1/keys', JSON_TYPE, bytes('{"role":"admin"}')),
      fingerprintOf('POST', '/v1/keys', JSON_TYPE, bytes('[{"role":"reader"}]')),
      fingerprintOf('PUT', '/v1/keys', JSON_TYPE, body),
      fingerprintOf('POST', '/v1/stocks', JSON_TYPE, body),
      fingerprintOf('POST', '/v1/keys?x=1', JSON_TYPE, body),
    ];
    assert.equal(new Set([first, ...others]).size, others.length + 1);
  });

  it('a body that is not JSON counts by its bytes', () => {
    const csv = fingerprintOf('POST', '/v1/x', 'text/csv', bytes('a,b\n1,2\n'));
    assert.notEqual(fingerprintOf('POST', '/v1/x', 'text/csv', bytes('a,b\n1,2')), csv);
    // broken JSON declared as JSON: its bytes, so a space counts
    assert.notEqual(
      fingerprintOf('POST', '/v1/x', JSON_TYPE, bytes('{"a":')),
      fingerprintOf('POST', '/v1/x', JSON_TYPE, bytes('{"a": ')),
    );
    // the same text as JSON and as CSV are two requests
    assert.notEqual(
      fingerprintOf('POST', '/v1/x', JSON_TYPE, bytes('[1]')),
      fingerprintOf('POST', '/v1/x', 'text/csv', bytes('[1]')),
    );
  });

  it('a key is 1 to 255 printable ASCII characters', () => {
    for (const good of ['a', ' x ', '~'.repeat(255), 'order-42:retry/1?'])
      assert.ok(IDEMPOTENCY_KEY_FORMAT.test(good), good);
    for (const bad of ['', 'x'.repeat(256), 'tab\there', 'new\nline', 'ünïcode', 'nul\u0000', 'del\u007f'])
      assert.ok(!IDEMPOTENCY_KEY_FORMAT.test(bad), JSON.stringify(bad));
  });
});
