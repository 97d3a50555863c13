/** JSON logs for infra, on stderr so that stdout carries only command output (status table, --json). */
import { pino } from 'pino';
import { loadConfig } from '../core/config.ts';

export const log = pino({ name: 'infra', level: loadConfig().LOG_LEVEL }, pino.destination({ dest: 2, sync: true }));
