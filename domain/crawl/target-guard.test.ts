import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../core/config.ts';
import { guardedLookup, isPublicAddress, refusalOf } from './target-guard.ts';

const resolve = (host: string, allowed: string[]) =>
  new Promise<string>((done) =>
    guardedLookup(allowed)(host, {}, (error, address) => done(error ? `refused: ${error.message}` : String(address))),
  );

describe('crawl target guard', () => {
  it('tells public addresses from loopback, private, link-local and mapped ones', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '172.32.0.1', '100.128.0.1'])
      assert.equal(isPublicAddress(address), true, address);
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.5.4',
      '192.168.0.1',
      '169.254.169.254',
      '100.64.1.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      '::7f00:1',
      '::ffff:127.0.0.1',
      'fe80::1',
      'fd12::1',
      'ff02::1',
      'not an ip',
    ]) {
      assert.equal(isPublicAddress(address), false, address);
    }
  });

  it('the resolver the HTTP client uses refuses names that resolve inside, unless allowed', async () => {
    assert.match(await resolve('localhost', []), /^refused: localhost is .*loopback/);
    assert.match(await resolve('localhost', ['localhost']), /^(127\.0\.0\.1|::1)$/);
  });

  it('refuses what is not an http(s) URL, lets public addresses through', async () => {
    assert.match((await refusalOf('gopher://example.com/', [])) ?? '', /gopher: URLs are not fetched/);
    assert.equal(await refusalOf('http://127.0.0.1:8090/', ['127.0.0.1']), undefined);
    assert.equal(await refusalOf('http://93.184.216.34/page', []), undefined, 'a public address is fetched');
    assert.equal(await refusalOf('https://[2606:4700:4700::1111]/', []), undefined, 'a public IPv6 address is fetched');
  });

  it('CRAWL_ALLOWED_HOSTS is a comma-separated list, IPv6 with or without brackets', () => {
    assert.deepEqual(parseConfig({ CRAWL_ALLOWED_HOSTS: ' 127.0.0.1, Fixture.Local ,[::1]' }).CRAWL_ALLOWED_HOSTS, [
      '127.0.0.1',
      'fixture.local',
      '::1',
    ]);
    assert.deepEqual(parseConfig({}).CRAWL_ALLOWED_HOSTS, []);
  });
});
