/** Where everything infra owns lives: all of it under MILLRACE_HOME, so one folder holds a whole setup. */
import path from 'node:path';
import { loadConfig } from '../core/config.ts';

export const home = path.resolve(loadConfig().MILLRACE_HOME);
export const libDir = path.join(home, 'lib');

export const dataDir = (service: string) => path.join(home, 'data', service);
export const confDir = (service: string) => path.join(home, 'conf', service);
export const logFile = (service: string) => path.join(home, 'logs', `${service}.log`);
export const pidFile = (service: string) => path.join(home, 'run', `${service}.pid`);
