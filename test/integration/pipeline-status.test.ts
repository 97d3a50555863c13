/**
 * Pipeline status against running roles: a processor held back with a known backlog shows that
 * lag per partition, its process, its group member and partitions; let go, its lag drains and its
 * own counters arrive; a role killed is down; a clean stop is stopped. GET /v1/pipelines is for
 * operators only.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { composeApi } from '../../api/compose.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { freePort } from '../../core/free-port.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { LIVE_WITHIN_MS, pipelineStatus, type RoleStatus } from '../../core/pipeline-status.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { startHeartbeat } from '../../core/role-heartbeat.ts';
import { Registry } from '../../core/schema-registry.ts';
import { topicOffsets } from '../../core/topic-range.ts';
import { perRecord, processorGroupOf, runProcessor, type ProcessorSpec } from '../../processors/runtime/index.ts';
import { eventually, flights, type Flight } from '../../testkit/helpers.ts';
import { produceFlights, topicPair } from '../../testkit/processor-helpers.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(2);
const log = createLogger('processor', { test: 'pipeline-status' });
after(() => db.end());

const roleOf = async (name: string): Promise<RoleStatus | undefined> =>
  (await pipelineStatus(db, kafka)).find((r) => r.name === name);

describe('pipeline status', () => {
  it('shows a held-back processor with its known lag, then the lag drained and its own counters', async () => {
    const { input, output } = await topicPair('status', 2, 2);
    const name = `test-status-${input.name}`;
    const backlog = flights(300);
    await produceFlights(kafka, registry, input.name, backlog);
    const ends = await topicOffsets(kafka, input.name);

    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const copy = perRecord<Flight, Flight>((r) => [r.value]);
    const spec: ProcessorSpec<Flight, Flight> = {
      name,
      input: input.name,
      output: output.name,
      transform: async (records, context) => {
        await held;
        return copy(records, context);
      },
    };
    const processor = await runProcessor(spec, { kafka, registry, log });
    const heartbeat = await startHeartbeat(
      db,
      { role: 'processor', name, groupId: processorGroupOf(name), topics: [input.name] },
      log,
      500,
    );
    try {
      const waiting = await eventually('the processor running, its group stable', async () => {
        const r = await roleOf(name);
        return r?.group?.state === 'Stable' && r.group.members.length === 1 ? r : undefined;
      });
      assert.equal(waiting.state, 'running');
      assert.equal(waiting.instances.length, 1);
      assert.equal(waiting.instances[0]!.pid, process.pid);
      assert.deepEqual(
        waiting.group!.members[0]!.partitions.map((p) => p.partition).sort(),
        [0, 1],
        'its one member holds both partitions',
      );
      assert.equal(waiting.lag, backlog.length, 'every record produced is waiting');
      assert.deepEqual(
        waiting.partitions.map((p) => [p.partition, p.lag, p.end]),
        [...ends].sort(([a], [b]) => a - b).map(([p, end]) => [p, Number(end), String(end)]),
        'lag per partition: the whole partition, nothing committed yet',
      );
      assert.equal(waiting.records_out, 0);

      release();
      const drained = await eventually('the backlog drained and the counters reported', async () => {
        const r = await roleOf(name);
        return r?.lag === 0 && r.records_out === backlog.length ? r : undefined;
      });
      assert.equal(drained.records_in, backlog.length);
      assert.ok(drained.partitions.every((p) => p.committed !== null && p.lag === 0));

      log.error({ err: new Error('ClickHouse is unreachable') }, 'batch failed');
      const errored = await eventually('the last error reported', async () => {
        const r = await roleOf(name);
        return r?.last_error ? r : undefined;
      });
      assert.match(errored.last_error!.message, /batch failed: ClickHouse is unreachable/);
    } finally {
      release(); // a batch held back would keep the processor from stopping
      await heartbeat.stop();
      await processor.stop();
    }
    const stopped = await roleOf(name);
    assert.equal(stopped?.state, 'stopped', 'a clean stop says so');
    assert.equal(stopped?.instances.length, 0);

    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [input.name] }).finally(() => admin.disconnect());
    const gone = await eventually('the status without the deleted topic', async () => {
      const r = await roleOf(name).catch(() => undefined);
      return r?.partitions.length === 0 ? r : undefined;
    });
    assert.equal(gone.lag, 0, 'a role whose topic was deleted is still listed, with nothing to read');
  });

  it('shows a killed role as down, and serves operators only over HTTP', async () => {
    const { input, output } = await topicPair('status_kill', 1, 1);
    const child = spawn(
      process.execPath,
      [
        path.join(root, 'bin', 'millrace.js'),
        'processor',
        'passthrough',
        '--input',
        input.name,
        '--output',
        output.name,
      ],
      { env: { ...process.env, METRICS_PORT: '0', MILLRACE_RESTARTS: '3' }, stdio: 'ignore' },
    );
    const name = `passthrough.${input.name}.${output.name}`;
    try {
      const running = await eventually('the child processor reporting', async () => {
        const r = (await pipelineStatus(db, kafka)).find((s) => s.instances.some((i) => i.pid === child.pid));
        return r?.state === 'running' ? r : undefined;
      });
      assert.equal(running.restarts, 3, 'the restarts the supervisor counted');
      assert.equal(running.group?.id, processorGroupOf(name));
      assert.equal(running.name, name);
      assert.match(running.instances[0]!.metrics_url ?? '', /^http:\/\/.+\/metrics$/);

      child.kill('SIGKILL');
      const down = await eventually(
        'the killed role down',
        async () => {
          const r = await roleOf(name);
          return r?.state === 'down' ? r : undefined;
        },
        LIVE_WITHIN_MS + 30_000,
      );
      assert.equal(down.instances.length, 0);

      const run = randomBytes(3).toString('hex');
      const ops = await createTenant(db, `ops-${run}`);
      const tenant = await createTenant(db, `ten-${run}`);
      const operatorKey = (await createKey(db, ops.id, 'operator')).key;
      const adminKey = (await createKey(db, tenant.id, 'admin')).key;
      const { app } = composeApi(
        loadConfig(),
        {
          kafka,
          registry,
          producer: new AvroProducer(kafka, registry),
          admin: kafka.admin(),
          db,
          clickhouse: createClickHouse('default'),
        },
        { log, checks: {} },
      );
      const get = (key: string) => app.request('/v1/pipelines', { headers: { authorization: `Bearer ${key}` } });
      assert.equal((await get(adminKey)).status, 403, "a tenant's admin does not see the platform's pipelines");
      const res = await get(operatorKey);
      assert.equal(res.status, 200);
      const { roles } = (await res.json()) as { roles: RoleStatus[] };
      assert.equal(roles.find((r) => r.name === name)?.state, 'down');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('shows a source, which reads no topic: running without a group, then stopped cleanly', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(root, 'bin', 'millrace.js'), 'source', 'fixture-site'], {
      env: { ...process.env, MARKET_SITE_URL: `http://127.0.0.1:${port}` },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const running = await eventually('the source reporting', async () => {
        const r = (await pipelineStatus(db, kafka)).find((s) => s.instances.some((i) => i.pid === child.pid));
        return r?.state === 'running' ? r : undefined;
      });
      assert.deepEqual(
        [running.role, running.name, running.group, running.partitions],
        ['source', 'fixture-site', null, []],
      );
      child.kill('SIGTERM');
      await exited;
      const mine = (
        await db.query<{ stopped_at: Date | null }>(
          'SELECT stopped_at FROM role_instances WHERE pid = $1 AND role = $2',
          [child.pid, 'source'],
        )
      ).rows;
      assert.equal(mine.length, 1);
      assert.ok(mine[0]!.stopped_at, 'a clean stop is recorded');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
