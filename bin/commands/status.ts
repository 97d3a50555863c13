/**
 * `millrace status [--json]`: the pipelines as they run (core/pipeline-status.ts): a line per role
 * (state, processes, lag, records in/out per second, dead letters, restarts), then its partitions'
 * lag and its last error. `--json`: the same as `GET /v1/pipelines`.
 */
import { parseArgs } from 'node:util';
import { createKafka } from '../../core/kafka.ts';
import { pipelineStatus, type RoleStatus } from '../../core/pipeline-status.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { flags } from './options.ts';

function describe(r: RoleStatus): string {
  const head =
    `${r.role} ${r.name}: ${r.state}, ${r.instances.length} process(es), ${r.group ? `group ${r.group.state}, lag ${r.lag}` : 'no group'}, ` +
    `in ${r.records_in_per_s.toFixed(1)}/s, out ${r.records_out_per_s.toFixed(1)}/s, dlq ${r.dlq_records}, restarts ${r.restarts}`;
  const lags = r.partitions.map(
    (p) => `  ${p.topic}[${p.partition}] lag ${p.lag} (committed ${p.committed ?? '-'}, end ${p.end})`,
  );
  const error = r.last_error ? [`  last error ${r.last_error.at}: ${r.last_error.message}`] : [];
  return [head, ...lags, ...error].join('\n');
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: flags('boolean', 'json') });
  const db = createPostgresPool(1);
  try {
    const roles = await pipelineStatus(db, createKafka('millrace-status'));
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ roles })}\n`
        : roles.length
          ? `${roles.map(describe).join('\n')}\n`
          : 'no role has run in the last day (npx millrace start runs them)\n',
    );
    return 0;
  } finally {
    await db.end();
  }
}
