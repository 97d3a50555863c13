/**
 * The dataset a training job names, of either kind: a query over whitelisted tables (every
 * algorithm) or a tenant's uploaded file (the multilayer perceptron, whose graph takes raw rows).
 */
import type { Pool } from '../../core/postgres.ts';
import type { Algorithm } from './algorithms.ts';
import { TrainingRefused } from './train.ts';
import { getDataset, type Dataset } from './training-datasets.ts';
import { asUploaded, readyVersion, type UploadedDataset } from './uploaded-datasets.ts';

export type JobDataset = { kind: 'query'; dataset: Dataset } | { kind: 'file'; dataset: UploadedDataset };

/** The ready version a job trains on; a file dataset with another algorithm than mlp is refused, naming `field`. */
export async function jobDataset(
  db: Pool,
  tenantId: string,
  name: string,
  version: number | undefined,
  algorithm: Algorithm,
  field = 'dataset',
): Promise<JobDataset> {
  const stored = await readyVersion(db, tenantId, name, version, field);
  if (stored.kind === 'query')
    return { kind: 'query', dataset: await getDataset(db, tenantId, name, stored.version, field) };
  if (algorithm !== 'mlp')
    throw new TrainingRefused(
      `training dataset "${name}" version ${stored.version} is built from an uploaded file: it trains with algorithm mlp, whose graph takes the raw rows`,
      { details: { field: 'algorithm' } },
    );
  return { kind: 'file', dataset: asUploaded(stored) };
}
