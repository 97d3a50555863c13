/**
 * The trainer worker (`millrace trainer`): any number of instances in one consumer group.
 *
 * Consuming models.training.requests only records each job in Postgres (created if a producer
 * other than the API sent it) and wakes the work loop; the batch's offsets are then committed at
 * once. Training never runs inside the consumer's batch handler, so a training that takes
 * minutes neither holds the partition nor outlives the session: kafkajs keeps heartbeating
 * between fetches (training yields the event loop after every step). What makes a job survive
 * a dead trainer is Postgres, not an uncommitted offset: the work loop claims jobs with a lease
 * it renews while training, and a job whose lease ran out is claimed by another instance. A job
 * registers at most one model version, whichever trainer finishes it (models/tabular/version.ts).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kafka } from 'kafkajs';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { startAvroConsumer, type ConsumedRecord } from '../../core/consumer.ts';
import { toDlqMessage } from '../../core/dlq.ts';
import type { Logger } from '../../core/logger.ts';
import type { Pool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import type { Registry } from '../../core/schema-registry.ts';
import { dlqTopicOf } from '../../schemas/topic-spec.ts';
import { activateIfNoneActive } from '../model-registry.ts';
import { ALGORITHMS, parseParams, type Algorithm } from './algorithms.ts';
import { getDataset, UnknownDatasetError } from './training-datasets.ts';
import { claimJob, createJob, finishJob, publishWith, recordEvent, releaseJob, renewLease, REQUESTS_TOPIC, MAX_ATTEMPTS, type TrainingJob } from './training-jobs.ts';
import { trainOnDataset, TrainingRefused } from './train.ts';
import { buildManifest, codeVersion, registerTrained, versionOfJob } from './version.ts';
import { MillraceError } from '../../core/errors.ts';

export interface TrainingRequest {
  id: string;
  tenant_id: string;
  event_time: number;
  dataset_name: string;
  dataset_version: number;
  algorithm: string;
  params_json: string;
  model_id: string;
}

export interface TrainerOptions {
  kafka: Kafka;
  registry: Registry;
  db: Pool;
  clickhouse: ClickHouseClient;
  log: Logger;
  groupId?: string;
}

export interface RunningTrainer {
  workerId: string;
  joined: Promise<void>;
  stop(): Promise<void>;
}

/** The training of this job was taken over (lease lost) or this trainer is stopping. */
class Interrupted extends MillraceError {
  override name = 'Interrupted';
  override readonly code = 'interrupted';
  override readonly retriable = true;
}

/** A job's version: fixed by the job, so a trainer that runs it again names the same version. */
export const versionForJob = (job: Pick<TrainingJob, 'id' | 'created_at'>) =>
  `${job.created_at.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${job.id.slice(0, 8)}`;

export async function startTrainer({ kafka, registry, db, clickhouse, log, groupId = 'millrace-trainer' }: TrainerOptions): Promise<RunningTrainer> {
  const { TRAINER_LEASE_MS: leaseMs, TRAINER_POLL_MS: pollMs } = loadConfig();
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const producer = new AvroProducer(kafka, registry);
  await producer.connect();
  const publish = publishWith(producer);
  let stopping = false;
  let wake: () => void = () => {};

  /** Training requests become job rows; one that cannot goes to the DLQ saying why. */
  const accept = async (records: ConsumedRecord<TrainingRequest>[]) => {
    for (const record of records) {
      const request = record.value;
      try {
        const algorithm = request.algorithm as Algorithm;
        if (!(algorithm in ALGORITHMS)) throw new TrainingRefused(`unknown algorithm "${request.algorithm}"; one of ${Object.keys(ALGORITHMS).join(', ')}`);
        const params = parseParams(algorithm, JSON.parse(request.params_json));
        if (!params.success) throw new TrainingRefused(`params: ${params.error.issues[0]?.path.join('.')}: ${params.error.issues[0]?.message}`);
        await getDataset(db, request.tenant_id, request.dataset_name, request.dataset_version);
        const job = { id: request.id, tenant_id: request.tenant_id, dataset_name: request.dataset_name, dataset_version: request.dataset_version, algorithm, params: params.data, model_id: request.model_id };
        await createJob(db, publish, job);
      } catch (error) {
        if (!(error instanceof TrainingRefused || error instanceof UnknownDatasetError || error instanceof SyntaxError)) throw error; // Postgres down: the batch is retried
        log.warn({ job_id: request.id, reason: (error as Error).message }, 'training request to DLQ');
        const encoded = await producer.prepare(record.topic, { value: request, key: record.key ?? request.id, headers: record.headers });
        await producer.sendPrepared(dlqTopicOf(record.topic), [
          toDlqMessage({ topic: record.topic, partition: record.partition, message: { key: Buffer.from(record.key ?? request.id), value: encoded.value as Buffer, headers: record.headers, offset: record.offset } }, error as Error, 'trainer'),
        ]);
      }
    }
    wake();
  };

  const run = async (job: TrainingJob) => {
    const jobLog = log.child({ job_id: job.id, worker: workerId });
    let lost = false;
    const lease = setInterval(() => {
      renewLease(db, job.id, workerId, leaseMs)
        .then((mine) => (lost ||= !mine))
        .catch((error: Error) => jobLog.warn({ err: error }, 'cannot renew the lease; trying again'));
    }, leaseMs / 3);
    const event = async (kind: Parameters<typeof recordEvent>[4], detail: Record<string, unknown>) => {
      if (!(await recordEvent(db, publish, job, workerId, kind, detail))) throw new Interrupted('another trainer took the job over');
    };
    const fail = async (reason: string) => {
      jobLog.warn({ reason }, 'training job failed');
      await finishJob(db, publish, job, workerId, { status: 'failed', reason }, { kind: 'failed', detail: { reason } });
    };
    try {
      await event('started', { worker: workerId, attempt: job.attempts });
      const done = await versionOfJob(db, job.id); // a trainer registered it and died before saying so
      if (done) {
        const finished = { model_id: done.model_id, version: done.version, metrics: done.manifest.metrics.holdout };
        await finishJob(db, publish, job, workerId, { status: 'succeeded', model_version: done.version, metrics: done.manifest.metrics }, { kind: 'done', detail: finished });
        return;
      }
      if (job.attempts > MAX_ATTEMPTS) return await fail(`gave up after ${MAX_ATTEMPTS} attempts: the trainer running it stopped each time`);
      const dataset = await getDataset(db, job.tenant_id, job.dataset_name, job.dataset_version);
      const algorithm = job.algorithm as Algorithm;
      const params = ALGORITHMS[algorithm].params.parse(job.params);
      const version = versionForJob(job);
      const trained = await trainOnDataset({
        clickhouse,
        dataset,
        algorithm,
        params,
        meta: { id: job.model_id, version },
        progress: async (report) => {
          if (lost || stopping) throw new Interrupted(lost ? 'another trainer took the job over' : 'the trainer is stopping');
          // about twenty progress events a job
          if (report.step % Math.max(1, Math.floor(report.of / 20)) === 0 || report.step === report.of) await event('progress', report);
        },
      });
      await event('evaluated', { metrics: trained.metrics, majority_baseline: trained.baseline, onnx_agreement: trained.agreement, training_ms: trained.training_ms });
      if (lost) throw new Interrupted('another trainer took the job over');
      const manifest = buildManifest(trained, {
        id: job.model_id,
        version,
        description: `${algorithm} on training dataset ${dataset.name} (tenant ${job.tenant_id})`,
        lineage: { job_id: job.id, tenant_id: job.tenant_id, dataset: { name: dataset.name, version: dataset.version, definition: dataset.definition }, params, code_version: await codeVersion() },
      });
      const registered = await registerTrained(db, trained.onnx, manifest);
      const activated = await activateIfNoneActive(db, registered.model_id, registered.version);
      await event('registered', { model_id: registered.model_id, version: registered.version, created: registered.created, activated: activated !== null, onnx_sha256: registered.manifest.lineage.onnx_sha256 });
      const finished = { model_id: registered.model_id, version: registered.version, metrics: registered.manifest.metrics.holdout };
      await finishJob(db, publish, job, workerId, { status: 'succeeded', model_version: registered.version, metrics: registered.manifest.metrics }, { kind: 'done', detail: finished });
      jobLog.info({ model_id: registered.model_id, version: registered.version, auc: trained.metrics.auc, training_ms: trained.training_ms }, 'training job done');
    } catch (error) {
      if (error instanceof Interrupted) {
        jobLog.warn({ reason: error.message }, 'training interrupted');
        if (stopping) await releaseJob(db, job.id, workerId);
        return;
      }
      if (error instanceof TrainingRefused || error instanceof UnknownDatasetError) return await fail(error.message);
      jobLog.error({ err: error }, 'training job crashed');
      await fail(`${(error as Error).name}: ${(error as Error).message}`);
    } finally {
      clearInterval(lease);
    }
  };

  const loop = (async () => {
    while (!stopping) {
      try {
        const job = await claimJob(db, workerId, leaseMs);
        if (job) {
          await run(job);
          continue;
        }
      } catch (error) {
        log.error({ err: error }, 'cannot claim a training job; trying again');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();

  const consumer = await startAvroConsumer<TrainingRequest>({ kafka, registry, log, groupId, topics: [REQUESTS_TOPIC], stage: 'trainer', fromBeginning: true, handle: accept });
  log.info({ worker: workerId, group: groupId, lease_ms: leaseMs }, 'trainer running');
  return {
    workerId,
    joined: consumer.joined,
    async stop() {
      stopping = true;
      wake();
      await consumer.stop();
      await loop;
      await producer.disconnect();
    },
  };
}
