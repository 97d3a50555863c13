/** The API's one error shape: `{error, message, field?, request_id}` with a fitting status. */
import type { Context } from 'hono';
import pg from 'pg';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function errorBody(c: Context, code: string, message: string, field?: string) {
  return { error: code, message, ...(field === undefined ? {} : { field }), request_id: String(c.get('requestId') ?? '') };
}

/**
 * Postgres refused a value itself (SQLSTATE class 22, data exception: a NUL byte in text, a number
 * or date out of range, text where a uuid goes): the request carried it, so it is a 400, not a
 * 500. Route schemas catch most such values first; this covers every string that reaches SQL.
 */
export function isDataException(error: unknown): error is pg.DatabaseError {
  return error instanceof pg.DatabaseError && typeof error.code === 'string' && error.code.startsWith('22');
}
