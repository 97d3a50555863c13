/**
 * Keyset pages of a tenant's things in Postgres, newest first: each list orders by a creation time
 * and a key (the tie-breaker), and its `next_cursor` is the last row's pair, opaque to clients
 * (base64url). A page after a cursor reads `(at, key) < (cursor)`, so rows added meanwhile never
 * shift a page, unlike an offset.
 */
import { MillraceError } from './errors.ts';

/** A cursor this API did not give out: a 400 naming `cursor`. */
export class CursorError extends MillraceError {
  override name = 'CursorError';
  constructor() {
    super('cursor: not a next_cursor this API gave', {
      code: 'invalid_request',
      status: 400,
      details: { field: 'cursor' },
    });
  }
}

/** The SQL of a row's time in a cursor: UTC to the microsecond, as Postgres keeps it. */
export const cursorTime = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const CURSOR = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})Z\|(.{1,200})$/s;

interface CursorKey {
  at: string;
  key: string;
}

export const encodeCursor = ({ at, key }: CursorKey): string => Buffer.from(`${at}|${key}`).toString('base64url');

export function decodeCursor(cursor: string): CursorKey {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString());
  // a date that does not exist (February 30th) rolls over in Date: refused here, not by Postgres
  if (!match || new Date(`${match[1]}Z`).toISOString().slice(0, 19) !== match[1]) throw new CursorError();
  return { at: `${match[1]}.${match[2]}Z`, key: match[3]! };
}

/**
 * The WHERE condition, ORDER BY and LIMIT of one page, with their parameters numbered from
 * `firstParam`: `at` is the time column, `key` the tie-breaker (compared as text).
 *
 * @example
 * ```ts
 * const page = keysetPage('created_at', 'id', query, 2);
 * const { rows } = await db.query(
 *   `SELECT *, ${cursorTime('created_at')} AS page_at, id AS page_key FROM uploads
 *    WHERE tenant_id = $1 AND ${page.where} ${page.orderAndLimit}`,
 *   [tenantId, ...page.params],
 * );
 * return pageOf(rows, query.limit);
 * ```
 */
export function keysetPage(
  at: string,
  key: string,
  { limit, cursor }: { limit: number; cursor?: string | undefined },
  firstParam: number,
): { where: string; orderAndLimit: string; params: unknown[] } {
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const order = `ORDER BY ${at} DESC, ${key}::text DESC`;
  if (!after) return { where: 'TRUE', orderAndLimit: `${order} LIMIT $${firstParam}`, params: [limit + 1] };
  const [a, k, l] = [firstParam, firstParam + 1, firstParam + 2];
  return {
    where: `(${at}, ${key}::text) < ($${a}::timestamptz, $${k}::text)`,
    orderAndLimit: `${order} LIMIT $${l}`,
    params: [after.at, after.key, limit + 1],
  };
}

/** A page from rows read with `keysetPage` (one more than `limit`, each with `page_at` and `page_key`). */
export function pageOf<R extends { page_at: string; page_key: string }>(
  rows: R[],
  limit: number,
): { items: Omit<R, 'page_at' | 'page_key'>[]; next_cursor: string | null } {
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return {
    items: shown.map((row) => {
      const item: Partial<R> = { ...row };
      delete item.page_at;
      delete item.page_key;
      return item as Omit<R, 'page_at' | 'page_key'>;
    }),
    next_cursor: rows.length > limit && last ? encodeCursor({ at: last.page_at, key: last.page_key }) : null,
  };
}
