/**
 * The registry service's process (infra/services/schema-registry.ts): runs the command it is given
 * (Apicurio, on its inner port) as its child and serves the guard (infra/registry-guard.ts) on the
 * registry's address in front of it. They live and die together: the child's exit ends the guard,
 * and a SIGTERM waits for the child's shutdown, so that its port and database are free once we are gone.
 *
 *   node dist/infra/registry-guard-main.js java ... -jar apicurio-registry-app-runner.jar
 */
import { spawn } from 'node:child_process';
import { hostAndPort, loadConfig } from '../core/config.ts';
import { loadCatalogue } from '../core/catalogue.ts';
import { provisionCredentials } from '../core/schema-registry.ts';
import { log } from './log.ts';
import { platformSubjectsOf, startRegistryGuard } from './registry-guard.ts';
import { apicurioAddress } from './services/schema-registry.ts';

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) throw new Error('usage: registry-guard-main.ts <command> [args...]: the registry to run behind the guard');

const registryUrl = new URL(loadConfig().SCHEMA_REGISTRY_URL);
const child = spawn(cmd, args, { stdio: 'inherit' });
// if we die first (an error of ours), the child must not outlive us holding its port
process.on('exit', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => {
  log.info({ service: 'registry', code, signal }, 'registry exited; the guard stops with it');
  process.exit(code ?? 1);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => child.kill(signal));

const topics = loadCatalogue().map((t) => t.name);
await startRegistryGuard({
  listen: hostAndPort(registryUrl.href),
  upstream: apicurioAddress,
  policy: { base: registryUrl.pathname.replace(/\/+$/, ''), platformSubjects: platformSubjectsOf(topics) },
  credentials: provisionCredentials(),
  onRefusal: (refusal) => log.warn({ service: 'registry-guard', ...refusal }, 'refused'),
});
log.info(
  { service: 'registry-guard', listen: registryUrl.host, upstream: apicurioAddress, topics: topics.length },
  'guarding',
);
