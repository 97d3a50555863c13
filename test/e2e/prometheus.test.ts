/**
 * Prometheus for real: `millrace start` (services already up in the test run) writes the file_sd
 * targets of the API and of every processor and sink; Debian's prometheus, started on a free port
 * with infra/prometheus/prometheus.yml and rules.yml, finds them all and scrapes them (every target
 * up, known series in: the supervisor's restart counter of every role at zero) and loads the rules.
 * Roles are threads of the start process, so no signal ends one from outside: a role's restart being
 * counted is supervisor-threads.test.ts's, the restart alerts firing are rules.test.yml's (promtool).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startPrometheus, type RunningPrometheus, type TargetGroup } from '../../infra/prometheus/index.ts';
import { pipelines } from '../../processors/pipelines.ts';
import { eventually } from '../../testkit/helpers.ts';
import { MillraceProcess } from '../../testkit/processor-helpers.ts';
import { freePort } from '../../core/free-port.ts';

interface Target {
  labels: Record<string, string>;
  health: string;
  lastError: string;
}
interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('Prometheus scraping millrace start', () => {
  it(
    'finds the API and every processor and sink through file_sd, scrapes them, and sees a sink restarted',
    { timeout: 360_000 },
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'millrace-prometheus-'));
      const start = new MillraceProcess(['start'], {
        API_PORT: String(await freePort()),
        METRICS_PORT: '0',
        PROMETHEUS_DIR: dir,
      });
      let prometheus: RunningPrometheus | undefined;
      try {
        await start.waitForLog('the targets written', (l) => l.msg === 'prometheus targets written', 180_000);
        const roles = JSON.parse(await readFile(path.join(dir, 'targets', 'roles.json'), 'utf8')) as TargetGroup[];
        const withMetrics = pipelines
          .flatMap((p) => p.roles)
          .filter(([kind]) => kind === 'processor' || kind === 'sink');
        assert.deepEqual(
          roles.map((g) => g.labels.component).sort(),
          withMetrics.map((args) => args.slice(0, 2).join(' ')).sort(),
          'one target per processor and sink',
        );

        prometheus = await startPrometheus({
          port: await freePort(),
          dir,
          storage: path.join(dir, 'data'),
          logFile: path.join(dir, 'prometheus.log'),
        });
        const api = async <T>(query: string): Promise<T> => {
          const response = await fetch(`${prometheus!.url}/api/v1/${query}`);
          const body = (await response.json()) as { status: string; data: T };
          assert.equal(body.status, 'success', query);
          return body.data;
        };
        const instant = (expr: string) =>
          api<{ result: Sample[] }>(`query?query=${encodeURIComponent(expr)}`).then((d) => d.result);

        // every target discovered and up: the API and each processor and sink
        const targets = await eventually(
          'every target up',
          async () => {
            const { activeTargets } = await api<{ activeTargets: Target[] }>('targets?state=active');
            return activeTargets.length === roles.length + 1 && activeTargets.every((t) => t.health === 'up')
              ? activeTargets
              : undefined;
          },
          120_000,
        ).catch(async (error: Error) => {
          const { activeTargets } = await api<{ activeTargets: Target[] }>('targets?state=active');
          throw new Error(
            `${error.message}: ${JSON.stringify(activeTargets.map((t) => [t.labels.component, t.health, t.lastError]))}`,
          );
        });
        const byJob = (job: string) => targets.filter((t) => t.labels.job === job).map((t) => t.labels.component);
        assert.deepEqual(byJob('millrace-api'), ['api']);
        assert.equal(byJob('millrace-roles').length, roles.length);

        // known series: each role's process metrics, the API's own request metrics (the scrapes
        // themselves), and the supervisor's restart counter of every role, at zero
        const roleStarts = await instant('count(process_start_time_seconds{job="millrace-roles"})');
        assert.equal(Number(roleStarts[0]!.value[1]), roles.length);
        const scrapes = await eventually('the API counting its /metrics requests', async () => {
          const [sample] = await instant('http_request_duration_seconds_count{job="millrace-api",route="/metrics"}');
          return sample;
        });
        assert.equal(scrapes.metric.status, '200');
        const restarts = await instant('millrace_role_restarts_total{job="millrace-api"}');
        assert.equal(restarts.length, pipelines.flatMap((p) => p.roles).length, 'a counter per supervised role');
        assert.ok(restarts.every((s) => s.value[1] === '0'));

        // the rules are loaded
        const { groups } = await api<{ groups: { rules: { name: string }[] }[] }>('rules');
        const alerts = groups.flatMap((g) => g.rules.map((r) => r.name));
        for (const alert of ['MillraceConsumerLagGrowing', 'MillraceDeadLetters', 'MillraceRoleRestarting'])
          assert.ok(alerts.includes(alert), `${alert} loaded (${alerts.join(', ')})`);

        // a clean stop empties the targets: a deliberate stop is not an outage
        const { code } = await start.kill('SIGTERM');
        assert.equal(code, 0, 'start exits 0 on SIGTERM');
        const left = JSON.parse(await readFile(path.join(dir, 'targets', 'roles.json'), 'utf8')) as TargetGroup[];
        assert.deepEqual(left, []);
      } finally {
        await prometheus?.close();
        if (start.child.exitCode === null) await start.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
