/**
 * Graceful stop on SIGTERM/SIGINT: the registered closers run newest first (a consumer stops and
 * commits before the producer it writes through disconnects), then the process exits 0. A closer
 * that hangs past the grace period, or fails, ends the process with 1.
 */
import { createLogger } from './logger.ts';

type Closer = () => Promise<void>;

const closers: { name: string; close: Closer }[] = [];
let installed = false;
let stopping: Promise<void> | undefined;

/**
 * Registers a closer to run on SIGTERM/SIGINT, newest first.
 *
 * @example
 * onShutdown('consumer', () => consumer.stop());
 * onShutdown('producer', () => producer.disconnect()); // runs before the consumer's
 */
export function onShutdown(name: string, close: Closer): void {
  closers.push({ name, close });
  if (installed) return;
  installed = true;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void shutdown(signal).then(() => process.exit(process.exitCode ?? 0)));
  }
}

/** Runs every closer once (also callable directly, e.g. when a command finishes on its own). */
export function shutdown(reason: string, graceMs = 30_000): Promise<void> {
  stopping ??= (async () => {
    const log = createLogger('shutdown');
    log.info({ reason }, 'stopping');
    const timer = setTimeout(() => {
      log.error({ graceMs }, 'shutdown took too long, exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    for (const { name, close } of closers.reverse()) {
      try {
        await close();
        log.info({ closer: name }, 'closed');
      } catch (error) {
        process.exitCode = 1;
        log.error({ closer: name, err: error }, 'close failed');
      }
    }
    clearTimeout(timer);
  })();
  return stopping;
}
