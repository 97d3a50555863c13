import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { passwordProblem } from './password-policy.ts';

describe('passwordProblem', () => {
  const email = 'ops.lead@acme.example';

  it('accepts a long passphrase', () => {
    assert.equal(passwordProblem('mill race by the weir 42', email), undefined);
  });

  it('refuses short, huge, email-shaped, repeated and common passwords, naming why', () => {
    assert.match(passwordProblem('elevenchars', email)!, /at least 12/);
    assert.match(passwordProblem('x'.repeat(1025) + 'y', email)!, /at most 1024/);
    assert.match(passwordProblem('OPS.LEAD@acme.example', email)!, /email/);
    assert.match(passwordProblem('ops.lead', 'ops.lead@acme.example')!, /at least 12/);
    assert.match(passwordProblem('ops.lead.acme', 'ops.lead.acme@acme.example')!, /email/);
    assert.match(passwordProblem('aaaaaaaaaaaaaaaa', email)!, /repeated/);
    assert.match(passwordProblem('Password1234', email)!, /common/);
  });

  it('counts characters, not UTF-16 units', () => {
    assert.match(passwordProblem('😀😀😀😀😀😀', email)!, /at least 12/);
  });
});
