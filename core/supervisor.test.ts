import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { metrics } from './metrics.ts';
import { restartLabels, supervise } from './supervisor.ts';

const restarts = async (labels: { role: string; name: string }) =>
  (await metrics.roleRestarts.get()).values.find((v) => v.labels.role === labels.role && v.labels.name === labels.name)
    ?.value;

describe('supervise', () => {
  it('labels restarts like the roles label their own metrics', () => {
    assert.deepEqual(restartLabels({ name: 'sink x', args: ['sink', 'x', '--table', 't'] }), {
      role: 'sink',
      name: 'x',
    });
    assert.deepEqual(restartLabels({ name: 'trainer', args: ['trainer'] }), { role: 'trainer', name: 'trainer' });
  });

  it('counts each restart of a role in millrace_role_restarts_total, from zero', { timeout: 60_000 }, async () => {
    // an unknown command exits at once (code 2): the supervisor starts it again after about a second
    const role = { name: 'no-such-command', args: ['no-such-command'] };
    const supervisor = supervise([role], pino({ level: 'silent' }));
    try {
      assert.equal(await restarts(restartLabels(role)), 0, 'the series exists before the first restart');
      const deadline = Date.now() + 50_000;
      while (((await restarts(restartLabels(role))) ?? 0) < 1) {
        assert.ok(Date.now() < deadline, 'no restart counted within 50 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await supervisor.stop(1_000);
    }
  });
});
