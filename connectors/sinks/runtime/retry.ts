/** Capped exponential back-off, an abortable sleep, and the split that finds the rows a database refuses. */
import { MillraceError } from '../../../core/errors.ts';

/** Delay before retry `attempt` (1-based): initial * 2^(attempt-1), capped, with ±20 % jitter. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  const jittered = base * (0.8 + 0.4 * random());
  return Math.round(Math.min(maxMs, Math.max(1, jittered)));
}

export class AbortedError extends MillraceError {
  override name = 'AbortedError';
  override readonly code = 'aborted';
}

/** Resolves after `ms`, or rejects with AbortedError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError('aborted'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Writes `rows` with `write`; when the database refuses the lot because of the data (`isDataError`),
 * splits it and tries the parts in order until each refused row stands alone, and hands that row to
 * `refused` (before any later row is written, so an offset-ordered writer never gets ahead of a
 * refused row). `hint(error, rows)` may name the index of the culprit (ClickHouse says "at row N"):
 * rows before it are written as one part, the culprit alone, then the rest. Any other error stops
 * and propagates: the caller retries the whole batch.
 */
export async function writeOrSplit<R>(
  rows: readonly R[],
  write: (rows: readonly R[]) => Promise<void>,
  refused: (row: R, error: Error) => Promise<void>,
  isDataError: (error: unknown) => boolean,
  hint: (error: Error, rows: readonly R[]) => number | undefined = () => undefined,
): Promise<void> {
  if (rows.length === 0) return;
  try {
    await write(rows);
    return;
  } catch (error) {
    if (!isDataError(error)) throw error;
    if (rows.length === 1) {
      await refused(rows[0] as R, error as Error);
      return;
    }
    const at = hint(error as Error, rows);
    const parts =
      at !== undefined && at >= 0 && at < rows.length
        ? [rows.slice(0, at), rows.slice(at, at + 1), rows.slice(at + 1)]
        : [rows.slice(0, Math.ceil(rows.length / 2)), rows.slice(Math.ceil(rows.length / 2))];
    for (const part of parts) await writeOrSplit(part, write, refused, isDataError, hint);
  }
}
