/**
 * JSON logs through pino, to stderr so that commands which stream records on stdout
 * (`millrace consume`) stay pipeable. Child loggers carry the role and a request or record id.
 */
import { pino, type Logger } from 'pino';
import { loadConfig } from './config.ts';

let root: Logger | undefined;

/**
 * The process' one pino logger (stderr, LOG_LEVEL).
 *
 * @example
 * rootLogger().flush();
 */
export function rootLogger(): Logger {
  root ??= pino({ level: loadConfig().LOG_LEVEL, base: { pid: process.pid } }, pino.destination(2));
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
