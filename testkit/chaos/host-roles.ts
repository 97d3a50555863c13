/**
 * Run inside a test host (infra/hosts.ts) by the chaos harness: the named pipelines' processors and
 * sinks as supervised threads, as `millrace start` runs them but without its local services, API or
 * provisioning (the harness did those), until SIGTERM. The configuration comes from the environment
 * the harness hands it: the cluster at its service address.
 *
 *   ip netns exec millrace-h1 node --import tsx testkit/chaos/host-roles.ts samples.flights finance.scoring
 */
import { createLogger } from '../../core/logger.ts';
import { onShutdown } from '../../core/shutdown.ts';
import { supervise } from '../../core/supervisor.ts';
import { pipelineRoles, pipelines } from '../../processors/pipelines.ts';

const names = process.argv.slice(2);
const chosen = pipelines.filter((p) => names.includes(p.name));
if (chosen.length !== names.length) throw new Error(`unknown pipeline among ${names.join(', ')}`);
const roles = pipelineRoles(chosen).filter((role) => role.args[0] === 'processor' || role.args[0] === 'sink');
const supervisor = supervise(roles, createLogger('host-roles'));
onShutdown('roles', () => supervisor.stop());
