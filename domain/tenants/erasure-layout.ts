/**
 * Where a tenant's data lives on this setup, as erasure needs it: the topics it may have records in,
 * how long its name stays taken, and its folders under MILLRACE_HOME. The API and the CLI build
 * their ErasureDeps from it, so both erase the same places.
 */
import path from 'node:path';
import type { Config } from '../../core/config.ts';
import { DLQ_RETENTION_MS } from '../../core/provision.ts';
import type { ResolvedTopic } from '../../core/topic-checks.ts';
import { datasetsDirOf } from '../images/image-store.ts';
import type { ErasureDeps } from './erasure.ts';

export type ErasureLayout = Pick<ErasureDeps, 'topics' | 'nameLockMs' | 'rowFolders' | 'tenantFolders'>;

export function erasureLayout(config: Config, topics: readonly ResolvedTopic[]): ErasureLayout {
  const retentions = topics.map((t) => (t.cleanup.policy === 'delete' ? t.cleanup.retentionMs : 0));
  return {
    topics: topics.flatMap((t) => [t.name, t.dlq]),
    nameLockMs: Math.max(DLQ_RETENTION_MS, ...retentions),
    rowFolders: [
      { table: 'uploads', root: path.join(config.MILLRACE_HOME, 'uploads') },
      { table: 'training_files', root: path.join(config.MILLRACE_HOME, 'training-files') },
      { table: 'finance_jobs', root: path.join(config.MILLRACE_HOME, 'finance-bulk') },
    ],
    tenantFolders: [datasetsDirOf(config)],
  };
}
