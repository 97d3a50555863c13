/** The API's one error shape: `{error, message, field?, request_id}` with a fitting status. */
import type { Context } from 'hono';
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
