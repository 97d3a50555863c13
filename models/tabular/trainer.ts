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
 * A job its tenant cancels stops at its next step and ends `cancelled`; its version is registered
 * only if the job is still held and not cancelled, checked under its row lock in the registration's
 * own transaction.
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
import { UnknownDatasetError, UploadedDatasetError } from './training-datasets.ts';
import {
  claimJob,
  createJob,
  finishJob,
  holdInTransaction,
  holdOfJob,
  type Hold,
  publishWith,
  recordEvent,
  releaseJob,
  renewLease,
  REQUESTS_TOPIC,
  MAX_ATTEMPTS,
  type TrainingJob,
} from './training-jobs.ts';
import { trainOnDataset, TrainingRefused } from './train.ts';
import { jobDataset } from './job-datasets.ts';
import { trainFromRows } from './train-rows.ts';
import { rowsTrainingInput } from './uploaded-datasets.ts';
import {
  buildManifest,
  buildRowsManifest,
  codeVersion,
  registerTrained,
  versionOfJob,
  type JobVersion,
  type TrainedManifest,
} from './version.ts';
import { errorKind } from '../../core/errors.ts';

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
class Interrupted extends errorKind('Interrupted', { code: 'interrupted', retriable: true }) {}
/** The job's tenant cancelled it. */
class Cancelled extends errorKind('Cancelled', { code: 'cancelled' }) {}

/** How often at most a training step asks Postgres whether its job was cancelled. */
const CANCEL_CHECK_MS = 250;

/** Throws what ends the training of a job this worker no longer holds as it was. */
function checkHold(hold: Hold, stopping: boolean): void {
  if (hold === 'lost') throw new Interrupted('another trainer took the job over');
  if (hold === 'cancelling') throw new Cancelled('cancelled while running');
  if (stopping) throw new Interrupted('the trainer is stopping');
}

/** A job's version: fixed by the job, so a trainer that runs it again names the same version. */
export const versionForJob = (job: Pick<TrainingJob, 'id' | 'created_at'>) =>
  `${job.created_at.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${job.id.slice(0, 8)}`;

/** What a trainer's parts share: its clients, its identity and whether it is stopping. */
interface Worker {
  db: Pool;
  clickhouse: ClickHouseClient;
  producer: AvroProducer;
  publish: ReturnType<typeof publishWith>;
  log: Logger;
  workerId: string;
  leaseMs: number;
  stopping: boolean;
}

/** A request that names no known algorithm, bad params or no dataset: the DLQ's business, not a retry's. */
const isRefusal = (error: unknown) =>
  error instanceof TrainingRefused ||
  error instanceof UnknownDatasetError ||
  error instanceof UploadedDatasetError ||
  error instanceof SyntaxError;

/** A training request becomes a job row; one that cannot goes to the DLQ saying why. */
async function acceptRequest(worker: Worker, record: ConsumedRecord<TrainingRequest>): Promise<void> {
  const { db, publish, producer, log } = worker;
  const request = record.value;
  try {
    const algorithm = request.algorithm as Algorithm;
    if (!Object.hasOwn(ALGORITHMS, algorithm))
      throw new TrainingRefused(
        `unknown algorithm "${request.algorithm}"; one of ${Object.keys(ALGORITHMS).join(', ')}`,
      );
    const params = parseParams(algorithm, JSON.parse(request.params_json));
    if (!params.success)
      throw new TrainingRefused(
        `params: ${params.error.issues[0]?.path.join('.')}: ${params.error.issues[0]?.message}`,
      );
    await jobDataset(db, request.tenant_id, request.dataset_name, request.dataset_version, algorithm);
    const job = {
      id: request.id,
      tenant_id: request.tenant_id,
      dataset_name: request.dataset_name,
      dataset_version: request.dataset_version,
      algorithm,
      params: params.data,
      model_id: request.model_id,
    };
    await createJob(db, publish, job);
  } catch (error) {
    if (!isRefusal(error)) throw error; // Postgres down: the batch is retried
    log.warn({ job_id: request.id, reason: (error as Error).message }, 'training request to DLQ');
    const encoded = await producer.prepare(record.topic, {
      value: request,
      key: record.key ?? request.id,
      headers: record.headers,
    });
    await producer.sendPrepared(dlqTopicOf(record.topic), [
      toDlqMessage(
        {
          topic: record.topic,
          partition: record.partition,
          message: {
            key: Buffer.from(record.key ?? request.id),
            value: encoded.value as Buffer,
            headers: record.headers,
            offset: record.offset,
          },
        },
        error as Error,
        'trainer',
      ),
    ]);
  }
}

/** A claimed job's run: its lease renewed while it trains, its events fenced by the lease. */
async function runJob(worker: Worker, job: TrainingJob): Promise<void> {
  const { db, publish, workerId, leaseMs } = worker;
  const jobLog = worker.log.child({ job_id: job.id, worker: workerId });
  const state: JobState = { hold: 'held', checkedAt: performance.now() };
  const see = (hold: Hold) => {
    if (state.hold === 'held') state.hold = hold;
  };
  const lease = setInterval(() => {
    renewLease(db, job.id, workerId, leaseMs)
      .then(see)
      .catch((error: Error) => jobLog.warn({ err: error }, 'cannot renew the lease; trying again'));
  }, leaseMs / 3);
  const fail = async (reason: string) => {
    jobLog.warn({ reason }, 'training job failed');
    await finishJob(db, publish, job, workerId, { status: 'failed', reason }, { kind: 'failed', detail: { reason } });
  };
  try {
    await trainJob(worker, job, jobLog, state, fail);
  } catch (error) {
    if (error instanceof Cancelled) {
      jobLog.info({ reason: error.message }, 'training job cancelled');
      const reason = error.message;
      await finishJob(
        db,
        publish,
        job,
        workerId,
        { status: 'cancelled', reason },
        { kind: 'cancelled', detail: { reason } },
      );
      return;
    }
    if (error instanceof Interrupted) {
      jobLog.warn({ reason: error.message }, 'training interrupted');
      if (worker.stopping) await releaseJob(db, job.id, workerId);
      return;
    }
    if (error instanceof TrainingRefused || error instanceof UnknownDatasetError) return await fail(error.message);
    jobLog.error({ err: error }, 'training job crashed');
    await fail(`${(error as Error).name}: ${(error as Error).message}`);
  } finally {
    clearInterval(lease);
  }
}

/** Whether the job is still this worker's as it was, as last seen, and when its trainer last asked. */
interface JobState {
  hold: Hold;
  checkedAt: number;
}

/** Trains, evaluates, registers and finishes one job (or finishes it from a version a dead trainer registered). */
async function trainJob(
  worker: Worker,
  job: TrainingJob,
  jobLog: Logger,
  state: JobState,
  fail: (reason: string) => Promise<void>,
): Promise<void> {
  const { db, clickhouse, publish, workerId } = worker;
  const event = async (kind: Parameters<typeof recordEvent>[4], detail: Record<string, unknown>) => {
    if (!(await recordEvent(db, publish, job, workerId, kind, detail)))
      throw new Interrupted('another trainer took the job over');
  };
  const succeed = ({ model_id, version, manifest }: JobVersion) =>
    finishJob(
      db,
      publish,
      job,
      workerId,
      { status: 'succeeded', model_version: version, metrics: manifest.metrics },
      {
        kind: 'done',
        detail: { model_id, version, metrics: manifest.metrics.holdout },
      },
    );
  // cancelled while no trainer held it (its trainer died or stopped): it ends now
  if (job.cancel_requested_at) throw new Cancelled('cancelled while no trainer ran it');
  await event('started', { worker: workerId, attempt: job.attempts });
  const done = await versionOfJob(db, job.id); // a trainer registered it and died before saying so
  if (done) return void (await succeed(done));
  if (job.attempts > MAX_ATTEMPTS)
    return await fail(`gave up after ${MAX_ATTEMPTS} attempts: the trainer running it stopped each time`);
  const algorithm = job.algorithm as Algorithm;
  const source = await jobDataset(db, job.tenant_id, job.dataset_name, job.dataset_version, algorithm);
  const version = versionForJob(job);
  const progress = async (report: { step: number; of: number } & Record<string, number>) => {
    // each step sees a cancel within CANCEL_CHECK_MS, however long the lease
    if (state.hold === 'held' && performance.now() - state.checkedAt >= CANCEL_CHECK_MS) {
      state.hold = await holdOfJob(db, job.id, workerId);
      state.checkedAt = performance.now();
    }
    checkHold(state.hold, worker.stopping);
    // about twenty progress events a job
    if (report.step % Math.max(1, Math.floor(report.of / 20)) === 0 || report.step === report.of)
      await event('progress', report);
  };
  const lineage = {
    job_id: job.id,
    tenant_id: job.tenant_id,
    code_version: await codeVersion(),
  };
  const description = `${algorithm} on training dataset ${source.dataset.name} (tenant ${job.tenant_id})`;
  let onnx: Uint8Array;
  let manifest: TrainedManifest;
  if (source.kind === 'file') {
    const { dataset } = source;
    const { max_categories, ...mlp } = ALGORITHMS.mlp.params.parse(job.params);
    const trained = await trainFromRows({
      ...(await rowsTrainingInput(clickhouse, dataset)),
      params: mlp,
      pipeline: { max_categories },
      meta: { id: job.model_id, version },
      progress: ({ step, of, train_loss, validation_loss }) => progress({ step, of, train_loss, validation_loss }),
    });
    await event('evaluated', {
      metrics: trained.metrics,
      baseline: trained.baseline,
      onnx_agreement: trained.agreement,
      training_ms: trained.training_ms,
    });
    onnx = trained.onnx;
    manifest = buildRowsManifest(trained, {
      id: job.model_id,
      version,
      description,
      lineage: {
        ...lineage,
        dataset: { name: dataset.name, version: dataset.version, definition: dataset.definition },
        params: { max_categories, ...mlp },
      },
    });
  } else {
    const { dataset } = source;
    const params = ALGORITHMS[algorithm].params.parse(job.params);
    const trained = await trainOnDataset({
      clickhouse,
      dataset,
      algorithm,
      params,
      meta: { id: job.model_id, version },
      progress,
    });
    await event('evaluated', {
      metrics: trained.metrics,
      majority_baseline: trained.baseline,
      onnx_agreement: trained.agreement,
      training_ms: trained.training_ms,
    });
    onnx = trained.onnx;
    manifest = buildManifest(trained, {
      id: job.model_id,
      version,
      description,
      lineage: {
        ...lineage,
        dataset: { name: dataset.name, version: dataset.version, definition: dataset.definition },
        params,
      },
    });
  }
  checkHold(state.hold, false);
  // the job's row lock, held until the version commits, orders this against a cancel
  const registered = await registerTrained(db, onnx, manifest, async (client) =>
    checkHold(await holdInTransaction(client, job.id, workerId), false),
  );
  const activated = await activateIfNoneActive(db, registered.model_id, registered.version);
  await event('registered', {
    model_id: registered.model_id,
    version: registered.version,
    created: registered.created,
    activated: activated !== null,
    onnx_sha256: registered.manifest.lineage.onnx_sha256,
  });
  await succeed(registered);
  jobLog.info(
    {
      model_id: registered.model_id,
      version: registered.version,
      metrics: manifest.metrics.holdout,
      training_ms: manifest.metrics.training_ms,
    },
    'training job done',
  );
}

/** The consumer group trainers share unless told otherwise. */
export const TRAINER_GROUP = 'millrace-trainer';

export async function startTrainer({
  kafka,
  registry,
  db,
  clickhouse,
  log,
  groupId = TRAINER_GROUP,
}: TrainerOptions): Promise<RunningTrainer> {
  const { TRAINER_LEASE_MS: leaseMs, TRAINER_POLL_MS: pollMs } = loadConfig();
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const producer = new AvroProducer(kafka, registry);
  await producer.connect();
  const worker: Worker = {
    db,
    clickhouse,
    producer,
    publish: publishWith(producer),
    log,
    workerId,
    leaseMs,
    stopping: false,
  };
  let wake: () => void = () => {};

  const loop = (async () => {
    while (!worker.stopping) {
      try {
        const job = await claimJob(db, workerId, leaseMs);
        if (job) {
          await runJob(worker, job);
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

  const accept = async (records: ConsumedRecord<TrainingRequest>[]) => {
    for (const record of records) await acceptRequest(worker, record);
    wake();
  };
  const consumer = await startAvroConsumer<TrainingRequest>({
    kafka,
    registry,
    log,
    groupId,
    topics: [REQUESTS_TOPIC],
    stage: 'trainer',
    fromBeginning: true,
    handle: accept,
  });
  log.info({ worker: workerId, group: groupId, lease_ms: leaseMs }, 'trainer running');
  return {
    workerId,
    joined: consumer.joined,
    async stop() {
      worker.stopping = true;
      wake();
      await consumer.stop();
      await loop;
      await producer.disconnect();
    },
  };
}
