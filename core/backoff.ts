/**
 * The one back-off: capped exponential delays with jitter, and an abortable sleep. Used by every
 * retry in the platform (sink writes, crawler fetches, supervisor restarts), like kafkajs' single
 * retrier, so that "how long until the next try" has one answer.
 */
import { errorKind } from './errors.ts';

/**
 * How the exponential delay `d` is spread: `full` draws from [0, d] (AWS's "full jitter": spreads
 * a crowd of retriers the most), `equal` from [d/2, d] (never much shorter than planned), `none`
 * is exactly `d`.
 */
export type Jitter = 'full' | 'equal' | 'none';

export interface BackoffOptions {
  /** 1-based: the first retry waits about `baseMs`, each further one twice as long. */
  attempt: number;
  baseMs: number;
  /** No delay is longer than this, jitter included. */
  capMs: number;
  jitter: Jitter;
  /** A number in [0, 1); injected for deterministic tests. */
  random?: () => number;
}

/**
 * The delay before retry `attempt`: `min(capMs, baseMs * 2^(attempt-1))`, jittered, whole
 * milliseconds, at least 1 (0 only when `jitter` is `none` and `baseMs` is 0).
 *
 * @example
 * ```ts
 * for (let attempt = 1; ; attempt++) {
 *   try {
 *     return await write(rows);
 *   } catch {
 *     await sleep(backoff({ attempt, baseMs: 200, capMs: 30_000, jitter: 'equal' }), signal);
 *   }
 * }
 * ```
 */
export function backoff({ attempt, baseMs, capMs, jitter, random = Math.random }: BackoffOptions): number {
  // the exponent is bounded: 2^1000 is Infinity and Infinity * 0 is NaN
  const planned = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
  if (jitter === 'none') return Math.round(planned);
  const low = jitter === 'equal' ? planned / 2 : 0;
  return Math.max(1, Math.round(Math.min(capMs, low + (planned - low) * random())));
}

/** Thrown by `sleep` when its signal aborts: the wait was cut short on purpose, not by a failure. */
export class AbortedError extends errorKind('AbortedError', { code: 'aborted' }) {}

/**
 * Resolves after `ms`, or rejects with `AbortedError` as soon as `signal` aborts (at once when it
 * already has). The timer never outlives the abort.
 *
 * @example
 * ```ts
 * const stopping = new AbortController();
 * await sleep(1_000, stopping.signal); // AbortedError if stopping.abort() is called meanwhile
 * ```
 */
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
