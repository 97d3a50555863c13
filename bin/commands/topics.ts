import { loadCatalogue } from '../../core/catalogue.ts';

export async function run(): Promise<number> {
  for (const t of loadCatalogue()) {
    const cleanup = t.cleanup.policy === 'compact' ? 'compact' : `delete after ${t.cleanup.retentionMs / 86_400_000} d`;
    process.stdout.write(`${t.name}\tpartitions=${t.partitions}\t${cleanup}\tsubject=${t.subject}\tdlq=${t.dlq}\n`);
  }
  return 0;
}
