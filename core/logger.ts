/**
 * JSON logs through pino, to stderr so that commands which stream records on stdout
 * (`millrace consume`) stay pipeable. Child loggers carry the role and a request or record id.
 */
import { pino, type Logger } from 'pino';
import { loadConfig } from './config.ts';

let root: Logger | undefined;
let lastError: { message: string; at: Date } | undefined;

/** The text of a log call's arguments: `msg: err.message` for `log.error({ err }, msg)`. */
function describe(args: unknown[]): string {
  const [first, second] = args;
  const err = first instanceof Error ? first : (first as { err?: unknown } | undefined)?.err;
  const msg = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
  const reason = err instanceof Error ? err.message : '';
  return [msg, reason].filter(Boolean).join(': ') || 'error';
}

/** The last line this process logged at error level or above (what `millrace status` shows as its last error). */
export const lastLoggedError = (): { message: string; at: Date } | undefined => lastError;

/**
 * The process' one pino logger (stderr, LOG_LEVEL).
 *
 * @example
 * rootLogger().flush();
 */
export function rootLogger(): Logger {
  root ??= pino(
    {
      level: loadConfig().LOG_LEVEL,
      base: { pid: process.pid },
      hooks: {
        logMethod(args, method, level) {
          if (level >= 50) lastError = { message: describe(args).slice(0, 1000), at: new Date() };
          method.apply(this, args);
        },
      },
    },
    pino.destination(2),
  );
  return root;
}

/**
 * A child logger naming the role, with extra bindings on every line.
 *
 * @example
 * const log = createLogger('sink', { sink: 'clickhouse' });
 * log.info({ rows: 500 }, 'inserted');
 */
export function createLogger(role: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ role, ...bindings });
}

export type { Logger };
