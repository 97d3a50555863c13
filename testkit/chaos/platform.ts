/**
 * The platform under test, as `millrace start` runs it: every role of the chosen pipelines and the
 * API, each its own `millrace` thread under core/supervisor (a killed role is started again), so the
 * harness can kill any of them by name (the thread ends at once, as a SIGKILLed process would).
 */
import { createLogger } from '../../core/logger.ts';
import { supervise, type Role, type Supervisor } from '../../core/supervisor.ts';
import { pipelineRoles, pipelines } from '../../processors/pipelines.ts';

export type RoleKind = 'processor' | 'sink' | 'source' | 'api';

export interface Platform {
  supervisor: Supervisor;
  roles: readonly (Role & { kind: RoleKind })[];
  apiUrl: string;
}

/** `sinkEnv`: more environment for the n-th ClickHouse sink (on the cluster, the replica it prefers). */
export function startPlatform(
  pipelineNames: readonly string[],
  apiPort: number,
  sinkEnv: (n: number) => Record<string, string> = () => ({}),
): Platform {
  const chosen = pipelines.filter((p) => pipelineNames.includes(p.name));
  const unknown = pipelineNames.filter((n) => !pipelines.some((p) => p.name === n));
  if (unknown.length > 0) throw new Error(`no pipeline ${unknown.join(', ')} in processors/pipelines.ts`);
  // a fault makes every role log errors by the hundred; the harness tells the story (CHAOS_LOG_LEVEL=error to see them)
  const env = { LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'fatal' };
  let clickhouseSinks = 0;
  const roles = [
    ...pipelineRoles(chosen).map((role) => ({
      ...role,
      kind: role.args[0] as RoleKind,
      env:
        role.args[0] === 'sink' && role.name.includes('clickhouse') ? { ...env, ...sinkEnv(clickhouseSinks++) } : env,
    })),
    { name: 'api', args: ['api'], kind: 'api' as const, env: { ...env, API_PORT: String(apiPort) } },
  ];
  return { supervisor: supervise(roles, createLogger('chaos')), roles, apiUrl: `http://127.0.0.1:${apiPort}` };
}
