/** The error base and its HTTP mapping: defaults, subclassing, cause, and what a 500 does not tell. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorKind, httpErrorOf, INTERNAL_ERROR_BODY, MillraceError } from './errors.ts';

class UnknownThingError extends MillraceError {
  override name = 'UnknownThingError';
  constructor(id: string) {
    super(`no thing "${id}"`, { code: 'not_found', status: 404, details: { field: 'id', id } });
  }
}

class FixedError extends MillraceError {
  override name = 'FixedError';
  override readonly code = 'fixed';
  override readonly status = 409;
  override readonly retriable = true;
}

describe('MillraceError', () => {
  it('defaults to an internal 500 that leaves retriable unsaid (kafkajs would give up on false)', () => {
    const error = new MillraceError('boom');
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'MillraceError');
    assert.equal(error.message, 'boom');
    assert.equal(error.code, 'internal');
    assert.equal(error.status, 500);
    assert.equal(error.retriable, undefined);
    assert.equal(error.details, undefined);
    assert.deepEqual(error.headers, {});
  });

  it('keeps a cause and takes code, status, retriable, details and headers from the options', () => {
    const cause = new Error('ECONNREFUSED');
    const error = new MillraceError('registry down', {
      code: 'registry_down',
      status: 503,
      retriable: true,
      details: { url: 'x' },
      headers: { 'retry-after': '5' },
      cause,
    });
    assert.equal(error.cause, cause);
    assert.equal(error.code, 'registry_down');
    assert.equal(error.status, 503);
    assert.equal(error.retriable, true);
    assert.deepEqual(error.details, { url: 'x' });
    assert.deepEqual(error.headers, { 'retry-after': '5' });
  });

  it('lets subclasses keep their name and fix their code and status, by constructor or field', () => {
    const unknown = new UnknownThingError('a');
    assert.ok(unknown instanceof UnknownThingError && unknown instanceof MillraceError);
    assert.equal(unknown.name, 'UnknownThingError');
    assert.match(String(unknown.stack), /^UnknownThingError: no thing "a"/);
    const fixed = new FixedError('taken', { cause: 'x' });
    assert.equal(fixed.name, 'FixedError');
    assert.equal(fixed.code, 'fixed');
    assert.equal(fixed.status, 409);
    assert.equal(fixed.retriable, true);
    assert.equal(fixed.cause, 'x');
  });
});

describe('errorKind', () => {
  class TakenError extends errorKind('TakenError', { code: 'taken', status: 409, retriable: true }) {}

  it("names the kind and fixes its code, status and retriability over the thrower's options", () => {
    const error = new TakenError('taken', { cause: 'x', code: 'other', status: 400, details: { field: 'id' } });
    assert.ok(error instanceof TakenError && error instanceof MillraceError);
    assert.equal(error.name, 'TakenError');
    assert.match(String(error.stack), /^TakenError: taken/);
    assert.equal(error.code, 'taken');
    assert.equal(error.status, 409);
    assert.equal(error.retriable, true);
    assert.equal(error.cause, 'x');
    assert.deepEqual(error.details, { field: 'id' });
  });

  it('leaves what a kind does not fix to the defaults or the options', () => {
    class PlainError extends errorKind('PlainError', { code: 'plain' }) {}
    assert.equal(new PlainError('a').status, 500);
    assert.equal(new PlainError('a').retriable, undefined);
    assert.equal(new PlainError('a', { status: 503 }).status, 503);
  });
});

describe('httpErrorOf', () => {
  it('answers a 4xx MillraceError with its status, code, message and field', () => {
    assert.deepEqual(httpErrorOf(new UnknownThingError('a')), {
      status: 404,
      body: { error: 'not_found', message: 'no thing "a"', field: 'id' },
      headers: {},
      internal: false,
    });
    assert.deepEqual(httpErrorOf(new FixedError('taken')), {
      status: 409,
      body: { error: 'fixed', message: 'taken' },
      headers: {},
      internal: false,
    });
  });

  it('answers a 503 with its message and headers', () => {
    const answer = httpErrorOf(
      new MillraceError('too slow', { code: 'query_timeout', status: 503, headers: { 'retry-after': '10' } }),
    );
    assert.deepEqual(answer, {
      status: 503,
      body: { error: 'query_timeout', message: 'too slow' },
      headers: { 'retry-after': '10' },
      internal: false,
    });
  });

  it('leaves a field out unless details.field is a string', () => {
    assert.deepEqual(
      httpErrorOf(new MillraceError('bad', { status: 400, code: 'invalid_request', details: { field: 3 } })).body,
      { error: 'invalid_request', message: 'bad' },
    );
  });

  it('answers anything else with a 500 that leaks nothing', () => {
    const secret = 'password=hunter2 at /srv/db.ts:12';
    for (const error of [
      new Error(secret),
      new TypeError(secret),
      new MillraceError(secret),
      new MillraceError(secret, { status: 500, code: 'migration_failed' }),
      new MillraceError(secret, { status: 200, code: 'odd' }),
      new MillraceError(secret, { status: 0, code: 'odd' }),
      secret,
      undefined,
      null,
      { status: 400, code: 'x', message: secret },
    ]) {
      const answer = httpErrorOf(error);
      assert.equal(answer.status, 500);
      assert.equal(answer.internal, true);
      assert.deepEqual(answer.body, INTERNAL_ERROR_BODY);
      assert.deepEqual(answer.headers, {});
      assert.ok(!JSON.stringify(answer).includes('hunter2'));
    }
  });
});
