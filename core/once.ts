/**
 * Work that must happen at most once, a stop say: every call, concurrent or later, shares the
 * first run's outcome, a failure included (unlike startOnce, which forgets a failed start).
 */

/**
 * Wraps `run` so that it runs on the first call only; every call returns that run's promise.
 *
 * @example
 * ```ts
 * const stop = once(async () => {
 *   await consumer.disconnect();
 *   log.info('stopped');
 * });
 * await Promise.all([stop(), stop()]); // disconnects once
 * ```
 */
export function once<T>(run: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => (running ??= run());
}
