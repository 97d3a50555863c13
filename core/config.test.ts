import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, hostAndPort, parseConfig } from './config.ts';

describe('config', () => {
  it('defaults point at the local services', () => {
    const c = parseConfig({});
    assert.deepEqual(c.KAFKA_BROKERS, ['127.0.0.1:9092']);
    assert.equal(c.SCHEMA_REGISTRY_URL, 'http://127.0.0.1:8081/apis/ccompat/v7');
    assert.equal(c.CLICKHOUSE_URL, 'http://127.0.0.1:8123');
    assert.equal(c.POSTGRES_URL, 'postgres://postgres@127.0.0.1:5432/millrace');
    assert.equal(c.API_HOST, '127.0.0.1');
    assert.equal(c.API_PORT, 8080);
  });

  it('reads and coerces values', () => {
    const c = parseConfig({ API_PORT: '9999', KAFKA_BROKERS: 'a:1, b:2', LOG_LEVEL: 'debug' });
    assert.equal(c.API_PORT, 9999);
    assert.deepEqual(c.KAFKA_BROKERS, ['a:1', 'b:2']);
    assert.equal(c.LOG_LEVEL, 'debug');
  });

  it("takes the crawler's user agent, MillraceBot by default", () => {
    assert.match(parseConfig({}).CRAWL_USER_AGENT, /^MillraceBot\//);
    assert.equal(
      parseConfig({ CRAWL_USER_AGENT: ' Acme/2.0 (+https://acme.test) ' }).CRAWL_USER_AGENT,
      'Acme/2.0 (+https://acme.test)',
    );
  });

  it('reads finance risk thresholds, refusing ones that are not ascending probabilities', () => {
    assert.deepEqual(parseConfig({}).FINANCE_RISK_THRESHOLDS, { medium: 0.01, high: 0.05, critical: 0.2 });
    assert.deepEqual(parseConfig({ FINANCE_RISK_THRESHOLDS: '0.02, 0.1, 0.3' }).FINANCE_RISK_THRESHOLDS, {
      medium: 0.02,
      high: 0.1,
      critical: 0.3,
    });
    for (const bad of ['0.05,0.01,0.2', '0.01,0.05', '0.01,0.05,1.5', 'low,high,critical']) {
      assert.throws(
        () => parseConfig({ FINANCE_RISK_THRESHOLDS: bad }),
        /FINANCE_RISK_THRESHOLDS=.*three ascending probabilities/,
      );
    }
  });

  it('takes the TLS certificate and key together, never one alone', () => {
    const both = parseConfig({ API_TLS_CERT: '/etc/millrace/cert.pem', API_TLS_KEY: '/etc/millrace/key.pem' });
    assert.equal(both.API_TLS_CERT, '/etc/millrace/cert.pem');
    assert.equal(both.API_TLS_KEY, '/etc/millrace/key.pem');
    assert.equal(parseConfig({}).API_TLS_CERT, undefined);
    assert.throws(
      () => parseConfig({ API_TLS_CERT: '/etc/millrace/cert.pem' }),
      /API_TLS_KEY=undefined: expected .*both or neither/,
    );
    assert.throws(
      () => parseConfig({ API_TLS_KEY: '/etc/millrace/key.pem' }),
      /API_TLS_CERT=undefined: expected .*both or neither/,
    );
  });

  it('treats an empty variable as unset', () => {
    assert.equal(parseConfig({ API_PORT: '' }).API_PORT, 8080);
  });

  it('names every bad variable and what it expects', () => {
    assert.throws(
      () => parseConfig({ API_PORT: '70000', KAFKA_BROKERS: 'nohostport', CLICKHOUSE_URL: 'ftp://x' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /API_PORT="70000": expected/);
        assert.match(error.message, /KAFKA_BROKERS="nohostport": expected a comma-separated list of host:port/);
        assert.match(error.message, /CLICKHOUSE_URL="ftp:\/\/x": expected an http\(s\) URL/);
        return true;
      },
    );
  });

  it('refuses a ClickHouse database name that is not a plain identifier', () => {
    assert.throws(
      () => parseConfig({ CLICKHOUSE_DATABASE: 'x; DROP' }),
      /CLICKHOUSE_DATABASE="x; DROP": expected a plain identifier/,
    );
  });

  it('splits addresses into host and port', () => {
    assert.deepEqual(hostAndPort('127.0.0.1:9092'), { host: '127.0.0.1', port: 9092 });
    assert.deepEqual(hostAndPort('http://localhost:8081/apis/ccompat/v7'), { host: 'localhost', port: 8081 });
    assert.deepEqual(hostAndPort('http://example'), { host: 'example', port: 80 });
  });
});

describe('config messages', () => {
  for (const [name, value, expected] of [
    ['API_PORT', 'eighty', 'a port number from 1 to 65535'],
    ['API_PORT', '0', 'a port number from 1 to 65535'],
    ['METRICS_PORT', '70000', 'a port number from 0 to 65535'],
    ['CRAWL_NEAR_DUPLICATE_DISTANCE', '1.5', 'an integer from 0 to 64'],
    ['LOG_LEVEL', 'loud', 'one of fatal, error, warn, info, debug, trace, silent'],
    ['INFRA_START_TIMEOUT_MS', '10', 'an integer >= 1000'],
    ['POSTGRES_URL', 'mysql://x/y', 'a postgres:// URL ending in a database name'],
    ['CRAWL_USER_AGENT', 'Bötchen/1.0', 'printable ASCII (a header value)'],
  ] as const) {
    it(`${name}=${value} says it expects ${expected}`, () => {
      assert.throws(
        () => parseConfig({ [name]: value }),
        (error: Error) => error.message.includes(`${name}="${value}": expected ${expected}`),
      );
    });
  }
});

describe('config secrets', () => {
  it('a bad secret is named but never echoed', () => {
    assert.throws(
      () => parseConfig({ JWT_SECRET: 'short-secret' }),
      (error: Error) =>
        error.message.includes('JWT_SECRET=(hidden): expected at least 32 characters') &&
        !error.message.includes('short-secret'),
    );
  });

  it('lists CORS origins', () => {
    assert.deepEqual(parseConfig({ CORS_ORIGINS: 'https://a.example, https://b.example' }).CORS_ORIGINS, [
      'https://a.example',
      'https://b.example',
    ]);
    assert.deepEqual(parseConfig({}).CORS_ORIGINS, []);
  });
});
