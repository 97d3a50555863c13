/**
 * Safe retries: `Idempotency-Key: <1 to 255 printable ASCII characters>` on a POST or PUT makes a
 * repeat of the same request (same tenant, key, method, path and body) answer what the first one
 * answered, byte for byte, without running again; for 24 hours. Stripe's semantics:
 *
 * - the first request reserves the key (`INSERT ... ON CONFLICT` in `idempotency_keys`, so exactly
 *   one of concurrent twins runs); a twin arriving while it runs gets 409 `idempotency_key_in_use`
 *   with Retry-After, it does not wait;
 * - its answer is kept when it is a 2xx or a 4xx (the same request would get the same one again);
 *   a 5xx, a 408 or a 429 deletes the reservation, so a retry runs afresh;
 * - the same key with another body, or on another route, is a 422 `idempotency_key_reused`;
 * - keys are per tenant: two tenants' equal keys never meet;
 * - a reservation is renewed while its request runs; one not renewed for `leaseMs` (its process
 *   died) is taken over by the next repeat with the same body.
 *
 * GET and DELETE ignore the header (they are safe to repeat as they are). Streamed bodies (uploads,
 * bulk predictions, batch scoring) refuse it with a 400: deduplicating them would mean holding the
 * body, which they never do; so does creating an API key, whose answer (the secret) is never stored.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';
import type { Logger } from '../core/logger.ts';
import type { Pool } from '../core/postgres.ts';
import type { AuthEnv } from './auth/middleware.ts';
import { ApiError } from './errors.ts';
import { IDEMPOTENCY_KEY_FORMAT } from './schemas.ts';
import { isStreamedBody } from './streamed-bodies.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY_FORMAT_TEXT = 'Idempotency-Key must be 1 to 255 printable ASCII characters';
/** The answer headers a replay repeats (besides the body and status). */
const KEPT_HEADERS = ['content-type', 'location'];
/** Answers not kept: a retry may well get another one. */
const TRANSIENT = new Set([408, 429]);
const DAY_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyOptions {
  db: Pool;
  log: Logger;
  /** how long a key and its answer are kept, from its first use (24 h) */
  ttlMs?: number;
  /** a reservation not renewed for this long belongs to a dead process and may be taken over (30 s) */
  leaseMs?: number;
}

/** JSON with every object's keys in order: two serialisations of one value are one text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * What makes two requests the same: the sha256 of the method, the path with its query and the
 * body; a JSON body by its parsed value (key order and spacing do not count, as the handler sees
 * neither), any other body by its bytes.
 */
export function fingerprintOf(method: string, target: string, contentType: string | undefined, body: Uint8Array) {
  const hash = createHash('sha256').update(`${method} ${target}\n`);
  if (/^application\/([\w.+-]+\+)?json\b/i.test(contentType ?? '')) {
    try {
      return hash
        .update('json\n')
        .update(canonicalJson(JSON.parse(new TextDecoder().decode(body))))
        .digest('hex');
    } catch {
      // not JSON after all: its bytes, as any other body
    }
  }
  return hash.update('raw\n').update(body).digest('hex');
}

/**
 * Why a POST or PUT takes no Idempotency-Key, if it does not: a streamed body (it would have to be
 * held), an answer with a secret shown once (a new API key or invitation), which must not be stored, or a model
 * version's files (multipart, whose boundary a retry changes; the same files register once anyway).
 */
function refusalOf(method: string, path: string): string | undefined {
  if (isStreamedBody(method, path))
    return 'streams its body and takes no Idempotency-Key (streamed requests are not deduplicated)';
  if (method === 'POST' && (path === '/v1/keys' || path === '/v1/invitations'))
    return 'answers with a secret shown once, never stored, so it takes no Idempotency-Key';
  if (method === 'POST' && /^\/v1\/models\/[^/]+\/versions$/.test(path))
    return 'is idempotent by itself (the same files again answer 200) and takes no Idempotency-Key';
  return undefined;
}

/** Whether a POST or PUT to `path` takes an Idempotency-Key (what /openapi.json must document). */
export const takesIdempotencyKey = (method: string, path: string) =>
  (method === 'POST' || method === 'PUT') && refusalOf(method, path) === undefined;

interface StoredKey {
  request: string;
  fingerprint: string;
  state: 'running' | 'done';
  status: number | null;
  headers: Record<string, string> | null;
  body: Buffer | null;
}

/** One use of a key: whose, which request, and the reservation's holder. */
interface Use {
  tenantId: string;
  key: string;
  request: string;
  fingerprint: string;
  owner: string;
}

/** Reserves the key for `use.owner` (new, expired, or abandoned by a dead process with the same request); true if it now holds it. */
async function reserve(db: Pool, use: Use, { ttlMs, leaseMs }: { ttlMs: number; leaseMs: number }): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO idempotency_keys AS k (tenant_id, key, request, fingerprint, state, owner, locked_at, created_at)
     VALUES ($1, $2, $3, $4, 'running', $5, now(), now())
     ON CONFLICT (tenant_id, key) DO UPDATE
       SET request = EXCLUDED.request, fingerprint = EXCLUDED.fingerprint, state = 'running', owner = EXCLUDED.owner,
           locked_at = now(), created_at = now(), status = NULL, headers = NULL, body = NULL
       WHERE k.created_at <= now() - $6 * interval '1 millisecond'
          OR (k.state = 'running' AND k.locked_at <= now() - $7 * interval '1 millisecond' AND k.fingerprint = EXCLUDED.fingerprint)`,
    [use.tenantId, use.key, use.request, use.fingerprint, use.owner, ttlMs, leaseMs],
  );
  return rowCount === 1;
}

const inUse = (message: string) =>
  new ApiError(409, 'idempotency_key_in_use', message, IDEMPOTENCY_HEADER, { 'retry-after': '1' });

/** What a repeat gets, given the key's stored use: its first answer, or a 409 or 422 thrown. */
function repeatAnswer(c: Context, use: Use, stored: StoredKey): Response {
  if (stored.fingerprint !== use.fingerprint)
    throw new ApiError(
      422,
      'idempotency_key_reused',
      `this Idempotency-Key was first used for ${stored.request}${stored.request === use.request ? ' with another body' : `, not ${use.request}`}; a key stands for one request, use a new one`,
      IDEMPOTENCY_HEADER,
    );
  if (stored.state === 'running')
    throw inUse('a request with this Idempotency-Key is still running; retry later for its answer');
  const headers = { ...stored.headers, 'idempotent-replayed': 'true' };
  const status = stored.status as StatusCode;
  return status === 204 || status === 304
    ? c.body(null, status, headers)
    : c.body(new Uint8Array(stored.body ?? []), status as ContentfulStatusCode, headers);
}

/** Keeps the answer of the use for its repeats, or frees the key for a retry when a retry may get another answer. */
async function settle(db: Pool, use: Use, response: Response): Promise<void> {
  const ids = [use.tenantId, use.key, use.owner];
  if (response.status >= 500 || TRANSIENT.has(response.status)) {
    await db.query('DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND owner = $3', ids);
    return;
  }
  const kept = Object.fromEntries(
    KEPT_HEADERS.flatMap((name) => {
      const value = response.headers.get(name);
      return value === null ? [] : [[name, value]];
    }),
  );
  await db.query(
    `UPDATE idempotency_keys SET state = 'done', status = $4, headers = $5, body = $6
     WHERE tenant_id = $1 AND key = $2 AND owner = $3`,
    [...ids, response.status, kept, Buffer.from(await response.clone().arrayBuffer())],
  );
}

/**
 * The Idempotency-Key middleware, placed after authentication and the permission check (keys are
 * the tenant's, and a refused caller reserves nothing).
 *
 * @example
 * ```ts
 * const guard = [authenticate(db, tokens), requirePermission('ingest'), idempotency({ db, log })];
 * ```
 */
export function idempotency({
  db,
  log,
  ttlMs = DAY_MS,
  leaseMs = 30_000,
}: IdempotencyOptions): MiddlewareHandler<AuthEnv> {
  let lastSweep = 0;
  /** Deletes expired keys, at most once a minute per process: a lookup never needs it (an expired key is taken over). */
  const sweep = () => {
    if (Date.now() - lastSweep < 60_000) return;
    lastSweep = Date.now();
    db.query(`DELETE FROM idempotency_keys WHERE created_at <= now() - $1 * interval '1 millisecond'`, [ttlMs]).catch(
      (error: Error) => log.warn({ err: error }, 'sweeping expired idempotency keys failed'),
    );
  };

  return async (c, next) => {
    const key = c.req.header(IDEMPOTENCY_HEADER);
    const method = c.req.method;
    if (key === undefined || (method !== 'POST' && method !== 'PUT')) return next();
    const refused = refusalOf(method, c.req.path);
    if (refused) throw new ApiError(400, 'invalid_request', `${method} ${c.req.path} ${refused}`, IDEMPOTENCY_HEADER);
    if (!IDEMPOTENCY_KEY_FORMAT.test(key))
      throw new ApiError(400, 'invalid_request', KEY_FORMAT_TEXT, IDEMPOTENCY_HEADER);

    const url = new URL(c.req.url);
    // read whole here (within the body limit); the route's validator reads Hono's cached copy
    const body = new Uint8Array(await c.req.arrayBuffer());
    const use: Use = {
      tenantId: c.get('principal').tenantId,
      key,
      request: `${method} ${url.pathname}`,
      fingerprint: fingerprintOf(method, `${url.pathname}${url.search}`, c.req.header('content-type'), body),
      owner: randomUUID(),
    };
    sweep();

    let reserved = false;
    // a reservation freed between our INSERT and SELECT leaves no row to answer from: try again
    for (let attempt = 0; attempt < 3 && !reserved; attempt++) {
      reserved = await reserve(db, use, { ttlMs, leaseMs });
      if (reserved) continue;
      const { rows } = await db.query<StoredKey>(
        'SELECT request, fingerprint, state, status, headers, body FROM idempotency_keys WHERE tenant_id = $1 AND key = $2',
        [use.tenantId, use.key],
      );
      if (rows[0]) return repeatAnswer(c, use, rows[0]);
    }
    if (!reserved) throw inUse('this Idempotency-Key is busy; retry later');

    const renew = setInterval(
      () =>
        void db
          .query('UPDATE idempotency_keys SET locked_at = now() WHERE tenant_id = $1 AND key = $2 AND owner = $3', [
            use.tenantId,
            use.key,
            use.owner,
          ])
          .catch((error: Error) => log.warn({ err: error }, 'renewing an idempotency key failed')),
      Math.max(100, Math.floor(leaseMs / 3)),
    );
    try {
      await next();
    } finally {
      clearInterval(renew);
    }
    await settle(db, use, c.res).catch((error: Error) =>
      // the answer still goes out; repeats find the key busy until its lease ends, then run again
      log.error({ request_id: c.get('requestId'), err: error }, 'keeping an idempotent answer failed'),
    );
  };
}
