/**
 * A start that runs once and is shared by every caller, unless it fails: then it is forgotten, so
 * the next call (the next batch, say, once Postgres is back) tries again.
 */

/**
 * Wraps `start` so that concurrent and later calls share one successful run.
 *
 * @example
 * const ready = startOnce(async (log: Logger) => { await registerBundledModels(db); log.info('models ready'); });
 * await ready(ctx.log); // first batch: starts; a failure rejects here and the next batch retries
 * await ready(ctx.log); // later batches: already started, resolves at once
 */
export function startOnce<A extends unknown[]>(start: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let starting: Promise<void> | undefined;
  return (...args) => {
    starting ??= start(...args).catch((error: unknown) => {
      starting = undefined;
      throw error;
    });
    return starting;
  };
}
