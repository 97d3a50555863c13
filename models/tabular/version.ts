/**
 * A trained tabular model as a registry version (models/registry.ts): model.onnx and a manifest
 * with the encoding, the held-out metrics and the lineage (job, dataset version, parameters, code
 * version, sha256 of the ONNX file). A training job registers at most one version: the registry
 * has a unique index on the manifest's lineage.job_id (sql/postgres/0014_training.sql).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config.ts';
import type { Pool, PoolClient } from '../../core/postgres.ts';
import { registerVersion, VersionConflictError } from '../model-registry.ts';
import type { DatasetDefinition } from './dataset-spec.ts';
import type { Encoding } from './encoding.ts';
import type { BinaryMetrics } from './evaluation.ts';
import type { TrainedModel } from './train.ts';
import type { RowsTrainedModel } from './train-rows.ts';
import type { UploadedDefinition } from './uploaded-datasets.ts';

export const MODEL_FILE = 'model.onnx';

export interface Lineage {
  job_id: string;
  tenant_id: string;
  dataset: { name: string; version: number; definition: DatasetDefinition };
  params: Record<string, unknown>;
  code_version: string;
  onnx_sha256: string;
  train_rows: number;
  holdout_rows: number;
}

export interface TabularManifest {
  id: string;
  version: string;
  kind: 'tabular-classifier';
  algorithm: string;
  description: string;
  models: { file: string; sha256: string }[];
  encoding: Encoding;
  columns: string[];
  metrics: {
    holdout: BinaryMetrics;
    majority_baseline: BinaryMetrics;
    onnx_agreement: TrainedModel['agreement'];
    training_ms: number;
  };
  lineage: Lineage;
}

let cachedCodeVersion: string | undefined;

/** The checkout's git commit (with `-dirty` when it has changes), else the package version. */
export async function codeVersion(): Promise<string> {
  if (cachedCodeVersion) return cachedCodeVersion;
  const root = loadConfig().repoRoot;
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    cachedCodeVersion = `git:${commit}${dirty ? '-dirty' : ''}`;
  } catch {
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    cachedCodeVersion = `${pkg.name}@${pkg.version}`;
  }
  return cachedCodeVersion;
}

export function buildManifest(
  trained: TrainedModel,
  meta: {
    id: string;
    version: string;
    description: string;
    lineage: Omit<Lineage, 'onnx_sha256' | 'train_rows' | 'holdout_rows'>;
  },
): TabularManifest {
  const sha256 = createHash('sha256').update(trained.onnx).digest('hex');
  return {
    id: meta.id,
    version: meta.version,
    kind: 'tabular-classifier',
    algorithm: trained.algorithm,
    description: meta.description,
    models: [{ file: MODEL_FILE, sha256 }],
    encoding: trained.encoding,
    columns: trained.columns,
    metrics: {
      holdout: trained.metrics,
      majority_baseline: trained.baseline,
      onnx_agreement: trained.agreement,
      training_ms: trained.training_ms,
    },
    lineage: {
      ...meta.lineage,
      onnx_sha256: sha256,
      train_rows: trained.train_rows,
      holdout_rows: trained.holdout.rows,
    },
  };
}

/**
 * A version trained on a tenant's uploaded dataset (train-rows.ts): its graph holds the feature
 * pipeline and takes raw rows; the manifest says which (inputs, pipeline, classes), how it did
 * (metrics against a baseline) and where it comes from (the lineage, the file dataset's definition).
 */
export type RowsManifest = RowsTrainedModel['manifest'] & {
  id: string;
  version: string;
  description: string;
  models: { file: string; sha256: string }[];
  lineage: Omit<Lineage, 'dataset'> & { dataset: { name: string; version: number; definition: UploadedDefinition } };
};

export function buildRowsManifest(
  trained: RowsTrainedModel,
  meta: {
    id: string;
    version: string;
    description: string;
    lineage: Omit<RowsManifest['lineage'], 'onnx_sha256' | 'train_rows' | 'holdout_rows'>;
  },
): RowsManifest {
  const sha256 = createHash('sha256').update(trained.onnx).digest('hex');
  return {
    id: meta.id,
    version: meta.version,
    description: meta.description,
    models: [{ file: MODEL_FILE, sha256 }],
    ...trained.manifest,
    lineage: {
      ...meta.lineage,
      onnx_sha256: sha256,
      train_rows: trained.train_rows,
      holdout_rows: trained.holdout_rows,
    },
  };
}

/** What a training job registers. */
export type TrainedManifest = TabularManifest | RowsManifest;

export interface JobVersion {
  model_id: string;
  version: string;
  manifest: TrainedManifest;
}

export async function versionOfJob(db: Pool, jobId: string): Promise<JobVersion | null> {
  const { rows } = await db.query<JobVersion>(
    "SELECT model_id, version, manifest FROM model_versions WHERE manifest ? 'lineage' AND manifest -> 'lineage' ->> 'job_id' = $1",
    [jobId],
  );
  return rows[0] ?? null;
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

/**
 * Registers the version, or returns the one its job already registered (another trainer got
 * there first: the registry refuses a second version for one job, and the same version with
 * other bytes). `precondition` runs first in the registration's transaction; what it throws
 * registers nothing.
 */
export async function registerTrained(
  db: Pool,
  onnx: Uint8Array,
  manifest: TrainedManifest,
  precondition?: (client: PoolClient) => Promise<void>,
): Promise<JobVersion & { created: boolean }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'millrace-trained-'));
  try {
    await writeFile(path.join(dir, MODEL_FILE), onnx);
    await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const registered = await registerVersion(db, dir, {
      description: manifest.description,
      tenantId: manifest.lineage.tenant_id,
      precondition,
    });
    return { model_id: registered.model_id, version: registered.version, manifest, created: registered.created };
  } catch (error) {
    if (!(error instanceof VersionConflictError) && !isUniqueViolation(error)) throw error;
    const existing = await versionOfJob(db, manifest.lineage.job_id);
    if (!existing) throw error;
    return { ...existing, created: false };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
