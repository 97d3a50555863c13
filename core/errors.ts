/**
 * The one error base: every domain error extends MillraceError and says what it is (`code`), the
 * HTTP status it maps to (`status`, 500 for internal faults), whether trying again may succeed
 * (`retriable`, left unsaid unless known: kafkajs reads it) and structured `details`. `httpErrorOf` turns any thrown value into the API's
 * answer; api/errors.ts applies it once, in `app.onError`. No imports: anything may use it.
 */

/** The JSON an error answer carries (the API adds `request_id`). */
export interface ErrorBody {
  error: string;
  message: string;
  field?: string;
}

export interface MillraceErrorOptions extends ErrorOptions {
  /** Stable snake_case name of the failure, the `error` of an HTTP answer; default `internal`. */
  code?: string;
  /** HTTP status it maps to; default 500 (internal: the message stays in the log). */
  status?: number;
  /**
   * Whether the same operation may succeed when tried again; default unsaid (undefined). Say
   * false only for an error that never reaches kafkajs: its retrier gives up on `retriable ===
   * false` at once, and retries anything else (undefined included); a crashed consumer restarts
   * only on `true`.
   */
  retriable?: boolean;
  /** Structured facts about the failure; `field` (a string) names the input at fault in HTTP answers. */
  details?: Record<string, unknown>;
  /** Headers an HTTP answer carries (`retry-after`, `www-authenticate`). */
  headers?: Record<string, string>;
}

/**
 * The base of every error Millrace throws on purpose. Subclasses keep their own `name`; a kind
 * whose code (and status, retriability) never varies extends `errorKind`, a per-instance one goes
 * through the options.
 *
 * @example
 * ```ts
 * export class UnknownThingError extends MillraceError {
 *   override name = 'UnknownThingError';
 *   constructor(id: string) {
 *     super(`no thing "${id}"`, { code: 'not_found', status: 404, details: { field: 'id' } });
 *   }
 * }
 * try { await connect(); } catch (cause) {
 *   throw new MillraceError('the registry is unreachable', { code: 'registry_down', status: 503, retriable: true, cause });
 * }
 * ```
 */
export class MillraceError extends Error {
  override name = 'MillraceError';
  readonly code: string;
  readonly status: number;
  readonly retriable: boolean | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string>;

  constructor(message: string, options: MillraceErrorOptions = {}) {
    const { code = 'internal', status = 500, retriable, details, headers = {}, ...errorOptions } = options;
    super(message, errorOptions);
    this.code = code;
    this.status = status;
    this.retriable = retriable;
    this.details = details;
    this.headers = headers;
  }
}

/** What every error of a kind shares: its code, and its status and retriability when it has them. */
export type ErrorKind = Required<Pick<MillraceErrorOptions, 'code'>> &
  Pick<MillraceErrorOptions, 'status' | 'retriable'>;

/**
 * The base of an error kind whose every instance has the same code (and status, retriability):
 * they win over the options a thrower gives.
 *
 * @example
 * ```ts
 * export class MigrationError extends errorKind('MigrationError', { code: 'migration_failed' }) {}
 * throw new MigrationError('0002_x.sql changed after it ran', { cause });
 * ```
 */
export function errorKind(name: string, kind: ErrorKind) {
  return class extends MillraceError {
    override name = name;
    constructor(message: string, options: MillraceErrorOptions = {}) {
      super(message, { ...options, ...kind });
    }
  };
}

/** What an HTTP answer to an error is, and whether it is worth a log line. */
export interface HttpError {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** Internal faults are logged (with the error) under the request id; the body says only that. */
  internal: boolean;
}

/** The answer to an error nobody meant to throw at a client: a 500 that names nothing inside. */
export const INTERNAL_ERROR_BODY: ErrorBody = {
  error: 'internal',
  message: 'internal error; see the server log for this request id',
};

/**
 * The HTTP answer to a thrown value: a MillraceError with a 4xx or a 5xx other than 500 is its
 * status, code, message and `details.field`; anything else (a 500, a stray Error, a non-error)
 * is a 500 whose body leaks nothing.
 *
 * @example
 * ```ts
 * httpErrorOf(new MillraceError('no upload "x"', { code: 'not_found', status: 404, details: { field: 'id' } }));
 * // { status: 404, body: { error: 'not_found', message: 'no upload "x"', field: 'id' }, headers: {}, internal: false }
 * ```
 */
export function httpErrorOf(error: unknown): HttpError {
  if (error instanceof MillraceError && error.status >= 400 && error.status <= 599 && error.status !== 500) {
    const field = error.details?.field;
    return {
      status: error.status,
      body: { error: error.code, message: error.message, ...(typeof field === 'string' ? { field } : {}) },
      headers: { ...error.headers },
      internal: false,
    };
  }
  return { status: 500, body: { ...INTERNAL_ERROR_BODY }, headers: {}, internal: true };
}
