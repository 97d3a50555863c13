/**
 * The embedded default as a user runs it: `millrace start` (services already up in the test run),
 * flights produced with `millrace produce` reach both databases through the supervised sinks, every
 * role runs as a thread of the one start process, and SIGTERM stops it. A role's crash cannot be
 * caused from outside a process whose roles are threads: supervisor-threads.test.ts ends one sink's
 * thread mid-stream and checks it is started again while another goes on.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { flights } from '../../testkit/helpers.ts';
import { cli, MillraceProcess } from '../../testkit/processor-helpers.ts';
import { eventually } from '../../testkit/helpers.ts';

describe('millrace start', () => {
  it(
    'runs the pipelines supervised: produced flights land in ClickHouse and Postgres; a killed sink comes back',
    { timeout: 240_000 },
    async () => {
      const start = new MillraceProcess(['start'], { API_PORT: '18080', METRICS_PORT: '0' });
      try {
        const started = (line: Record<string, unknown>) => line.msg === 'role started';
        await eventually(
          'two sinks started',
          () => (start.logs.filter(started).length >= 2 ? true : undefined),
          120_000,
        );

        const run = randomBytes(4).toString('hex');
        const sent = flights(1000).map((f) => ({ ...f, id: `start-${run}-${f.id}` }));
        execFileSync(process.execPath, [cli, 'produce', '--topic', 'samples.flights.raw'], {
          input: sent.map((f) => JSON.stringify(f)).join('\n'),
        });
        const distance = sent.reduce((s, f) => s + f.distance, 0);

        const pg = createPostgresPool(1);
        const ch = createClickHouse();
        try {
          const inPostgres = async () => {
            const { rows } = await pg.query<{ n: string; d: string }>(
              'SELECT count(*) AS n, coalesce(sum(distance), 0) AS d FROM samples_flights WHERE id LIKE $1',
              [`start-${run}-%`],
            );
            return rows[0]!.n === '1000' ? Number(rows[0]!.d) : undefined;
          };
          const inClickHouse = async () => {
            const [row] = await (
              await ch.query({
                query: `SELECT count() AS n, sum(distance) AS d FROM samples_flights WHERE startsWith(id, 'start-${run}-')`,
                format: 'JSONEachRow',
              })
            ).json<{ n: string; d: string }>();
            return Number(row!.n) === 1000 ? Number(row!.d) : undefined;
          };
          assert.equal(await eventually('the flights in Postgres', inPostgres, 90_000), distance);
          assert.equal(await eventually('the flights in ClickHouse', inClickHouse, 90_000), distance);

          // every role is a thread of the start process (18 processes held 2.2 GB at rest)
          const roles = start.logs.filter(started);
          assert.ok(roles.every((l) => l.pid === start.child.pid && typeof l.tid === 'number'));
        } finally {
          await Promise.all([pg.end(), ch.close()]);
        }

        const { code } = await start.kill('SIGTERM');
        assert.equal(code, 0, 'start exits 0 on SIGTERM');
        assert.ok(
          start.logs.some((l) => l.msg === 'every role stopped'),
          'every role stopped before the exit',
        );
      } finally {
        if (start.child.exitCode === null) await start.kill('SIGKILL');
      }
    },
  );
});
