import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { namesOfUser, quoteName, SqlUserError, sqlUserNames } from './names.ts';
import { DEFAULT_LIMITS, parseLimits, renderUsersFile, sha256Hex } from './users-file.ts';

const acme = sqlUserNames('millrace', 'acme-corp');

/** The element names in document order, checking each one closes in turn: the file is well-formed. */
function elements(xml: string): string[] {
  const open: string[] = [];
  const seen: string[] = [];
  for (const [, close, name, selfClosing] of xml.matchAll(/<(\/?)([A-Za-z_][\w.-]*)[^>]*?(\/?)>/g)) {
    if (close) assert.equal(open.pop(), name, `</${name}> closes another element`);
    else if (!selfClosing) {
      open.push(name!);
      seen.push(name!);
    }
  }
  assert.deepEqual(open, [], 'unclosed elements');
  return seen;
}

describe('sql user names', () => {
  it('user and database are <main>_tenant_<tenant>, and the user name leads back to the tenant', () => {
    assert.deepEqual(acme, {
      tenant: 'acme-corp',
      user: 'millrace_tenant_acme-corp',
      database: 'millrace_tenant_acme-corp',
    });
    assert.deepEqual(namesOfUser('millrace', 'millrace_tenant_acme-corp'), acme);
    assert.equal(namesOfUser('millrace', 'default'), undefined);
    assert.equal(namesOfUser('other', 'millrace_tenant_acme-corp'), undefined);
  });

  it('refuses tenant names the tenants table would refuse, and anything that could leave a quoted name', () => {
    for (const bad of ['', 'Acme', '-acme', 'a b', 'a`b', "a'b", 'a.b', 'a/../b', 'x'.repeat(64)]) {
      assert.throws(() => sqlUserNames('millrace', bad), SqlUserError, bad);
    }
    assert.equal(quoteName('samples_flights'), '`samples_flights`');
    assert.throws(() => quoteName('a`; DROP DATABASE millrace; --'), SqlUserError);
  });
});

describe('users.d file', () => {
  const hash = sha256Hex('secret');
  const xml = renderUsersFile(acme, { ...DEFAULT_LIMITS, maxExecutionTime: 7 }, hash);

  it('is well-formed and holds a read-only profile with the limits and one allowed database', () => {
    const names = elements(xml);
    assert.equal(names[0], 'yandex');
    assert.match(xml, /<profiles>\s*<millrace_tenant_acme-corp>\s*<readonly>1<\/readonly>/);
    assert.match(xml, /<max_execution_time>7<\/max_execution_time>/);
    assert.match(xml, /<result_overflow_mode>throw<\/result_overflow_mode>/);
    assert.match(xml, new RegExp(`<password_sha256_hex>${hash}</password_sha256_hex>`));
    assert.match(xml, /<profile>millrace_tenant_acme-corp<\/profile>/);
    assert.deepEqual(
      [...xml.matchAll(/<database>([^<]*)<\/database>/g)].map((m) => m[1]),
      ['millrace_tenant_acme-corp'],
    );
    assert.doesNotMatch(xml, /secret/);
  });

  it('reads back the limits it was written with', () => {
    const limits = {
      maxExecutionTime: 3,
      maxMemoryUsage: 10_000_000,
      maxResultRows: 5,
      maxResultBytes: 9,
      maxConcurrentQueries: 2,
    };
    assert.deepEqual(parseLimits(renderUsersFile(acme, limits, hash)), limits);
  });

  it('refuses a password that is not a sha256 and limits that are not positive integers', () => {
    assert.throws(() => renderUsersFile(acme, DEFAULT_LIMITS, 'secret'), /64 lower-case hex/);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => renderUsersFile(acme, { ...DEFAULT_LIMITS, maxResultRows: bad }, hash), /positive integer/);
    }
  });
});
