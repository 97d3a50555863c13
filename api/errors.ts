/**
 * The API's one error shape, `{error, message, field?, request_id}` with a fitting status, and the
 * one place a thrown error becomes it (`errorResponse`, used by `app.onError`): routes throw, never
 * translate.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import pg from 'pg';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { httpErrorOf, MillraceError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

/** An error only the API throws (authentication, limits, request checks): status and code as given. */
export class ApiError extends MillraceError {
  override name = 'ApiError';
  declare readonly status: ContentfulStatusCode;
  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    readonly field?: string,
    headers: Record<string, string> = {},
  ) {
    super(message, { code, status, details: field === undefined ? undefined : { field }, headers });
  }
}

export function errorBody(c: Context, code: string, message: string, field?: string) {
  return {
    error: code,
    message,
    ...(field === undefined ? {} : { field }),
    request_id: String(c.get('requestId') ?? ''),
  };
}

/**
 * Postgres refused a value itself (SQLSTATE class 22, data exception: a NUL byte in text, a number
 * or date out of range, text where a uuid goes): the request carried it, so it is a 400, not a
 * 500. Route schemas catch most such values first; this covers every string that reaches SQL.
 */
export function isDataException(error: unknown): error is pg.DatabaseError {
  return error instanceof pg.DatabaseError && typeof error.code === 'string' && error.code.startsWith('22');
}

/**
 * The answer to anything a handler or middleware threw: a MillraceError by its status, code,
 * message, `details.field` and headers (core/errors.ts `httpErrorOf`); a value Postgres refused a
 * 400; Hono's own HTTPException by its status; anything else a 500 naming only the request id,
 * with the error in the log.
 *
 * @example
 * ```ts
 * app.onError((error, c) => errorResponse(c, error, log));
 * ```
 */
export function errorResponse(c: Context, error: unknown, log: Logger): Response {
  if (isDataException(error)) {
    log.warn({ request_id: c.get('requestId'), err: error }, 'a value refused by Postgres');
    return c.json(errorBody(c, 'invalid_request', `a value cannot be stored: ${error.message}`), 400);
  }
  if (error instanceof HTTPException) {
    const status = error.status;
    return c.json(errorBody(c, status === 400 ? 'invalid_request' : 'http_error', error.message), status);
  }
  const answer = httpErrorOf(error);
  if (answer.internal) log.error({ request_id: c.get('requestId'), err: error }, 'unhandled error');
  for (const [name, value] of Object.entries(answer.headers)) c.header(name, value);
  return c.json(
    errorBody(c, answer.body.error, answer.body.message, answer.body.field),
    answer.status as ContentfulStatusCode,
  );
}
