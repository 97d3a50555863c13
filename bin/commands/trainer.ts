/**
 * `millrace trainer [--group G]`: runs a trainer worker until SIGTERM (models/tabular/trainer.ts).
 * Start as many as you like: they share the group's partitions and claim jobs one at a time.
 * A stopping trainer gives its job back to the queue for another to take.
 */
import { parseArgs } from 'node:util';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { onShutdown } from '../../core/shutdown.ts';
import { startHeartbeat } from '../../core/role-heartbeat.ts';
import { startTrainer, TRAINER_GROUP } from '../../models/tabular/trainer.ts';
import { REQUESTS_TOPIC } from '../../models/tabular/training-jobs.ts';
import { flags } from './options.ts';

export async function run(args: string[]): Promise<'running'> {
  const { values } = parseArgs({ args, options: flags('string', 'group') });
  const log = createLogger('trainer');
  const db = createPostgresPool(4);
  const clickhouse = createClickHouse();
  onShutdown('connections', async () => {
    await Promise.all([db.end(), clickhouse.close()]);
  });
  const trainer = await startTrainer({
    kafka: createKafka('millrace-trainer'),
    registry: new Registry(),
    db,
    clickhouse,
    log,
    groupId: values.group,
  });
  onShutdown('trainer', () => trainer.stop());
  const groupId = values.group ?? TRAINER_GROUP;
  const heartbeat = await startHeartbeat(
    db,
    { role: 'trainer', name: groupId, groupId, topics: [REQUESTS_TOPIC] },
    log,
  );
  onShutdown('status heartbeat', () => heartbeat.stop());
  return 'running';
}
