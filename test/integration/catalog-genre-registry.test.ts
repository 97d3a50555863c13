/**
 * The catalog processor's genre model comes from the model registry: a model trained and activated
 * with `millrace train ... --activate` is used without a restart. Every classified row names the
 * version that decided it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { createTenant } from '../../api/auth/accounts.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { provisionTopics, registerSchemas } from '../../core/provision.ts';
import { Registry } from '../../core/schema-registry.ts';
import { resolveTopic } from '../../core/topic-checks.ts';
import { activateVersion, activeVersion, registerVersion } from '../../models/model-registry.ts';
import { GENRE_MODEL_ID } from '../../processors/catalog/active-genre-model.ts';
import { saveTaxonomy } from '../../domain/catalog/taxonomy-store.ts';
import { processors } from '../../processors/index.ts';
import { runProcessor } from '../../processors/runtime/index.ts';
import { eventually, vegaDataFile } from '../../testkit/helpers.ts';
import { cli, readCommitted } from '../../testkit/processor-helpers.ts';
import type { ClassifiedRow } from '../../schemas/records/catalog.ts';

const schemas = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');
const suffix = randomBytes(4).toString('hex');

async function topic(name: string, schema: string) {
  const resolved = resolveTopic(
    {
      name: `test.${name}_${suffix}.raw`,
      partitions: 1,
      cleanup: { policy: 'delete', retentionMs: 86_400_000 },
      schema,
    },
    schemas,
  );
  await provisionTopics(createKafka('millrace-test'), [resolved]);
  await registerSchemas(new Registry(), [resolved]);
  return resolved.name;
}

describe('catalog genre model from the registry', () => {
  const db = createPostgresPool(2);
  let restore: string | undefined;
  after(async () => {
    if (restore) await activateVersion(db, GENRE_MODEL_ID, restore);
    await db.end();
  });

  it('switches to a newly trained and activated version without a restart', { timeout: 180_000 }, async () => {
    const bundled = await registerVersion(db, loadConfig().CATALOG_GENRE_MODEL_DIR);
    restore = (await activeVersion(db, GENRE_MODEL_ID))?.version ?? bundled.version;
    await activateVersion(db, GENRE_MODEL_ID, bundled.version);

    const kafka = createKafka('millrace-test');
    const registry = new Registry();
    const [input, output] = await Promise.all([
      topic('genre_in', 'catalog.rows.raw.avsc'),
      topic('genre_out', 'catalog.rows.classified.avsc'),
    ]);
    const tenant = await createTenant(db, `genre-${suffix}`);
    await saveTaxonomy(db, tenant.id, 'films', { genres: ['Drama', 'Comedy', 'Action', 'Horror'], attributes: {} }, []);
    const producer = new AvroProducer(kafka, registry);
    await producer.connect();
    const send = (from: number, n: number) =>
      producer.send(
        input,
        Array.from({ length: n }, (_, i) => ({
          value: {
            id: `g-${suffix}:${from + i}`,
            tenant_id: tenant.id,
            event_time: Date.now(),
            source: 'test',
            upload_id: `g-${suffix}`,
            row_number: from + i,
            fields: { title: `Night of the Living Dead ${from + i}` },
            taxonomy: 'films',
          },
        })),
      );
    const classified = async () =>
      Promise.all(
        (await readCommitted(kafka, output)).map(async (r) => (await registry.decode<ClassifiedRow>(r.value)).value),
      );

    const spec = processors['catalog-classification']!({ input, output });
    const processor = await runProcessor(spec, { kafka, registry });
    try {
      await send(1, 10);
      await eventually('rows scored by the bundled version', async () =>
        (await classified()).length >= 10 ? true : undefined,
      );

      // a new version, trained by the CLI and activated: the running processor picks it up
      const dir = mkdtempSync(path.join(tmpdir(), 'millrace-genre-'));
      const movies = (
        JSON.parse(readFileSync(vegaDataFile('movies.json'), 'utf8')) as {
          Title: unknown;
          'Major Genre': string | null;
        }[]
      ).filter((m) => typeof m.Title === 'string' && m['Major Genre']);
      writeFileSync(
        path.join(dir, 'movies.jsonl'),
        movies.map((m) => JSON.stringify({ title: String(m.Title), genre: m['Major Genre'] })).join('\n'),
      );
      const version = `test-${suffix}`;
      const { stdout } = await promisify(execFile)(process.execPath, [
        cli,
        'train',
        'text-classifier',
        '--data',
        path.join(dir, 'movies.jsonl'),
        '--text',
        'title',
        '--label',
        'genre',
        '--out',
        path.join(dir, 'model'),
        '--id',
        GENRE_MODEL_ID,
        '--version',
        version,
        '--dimensions',
        '4096',
        '--epochs',
        '2',
        '--activate',
      ]);
      assert.match(stdout, /registered and activated/);
      // the switch follows the activation's notification; rows sent after it must name the new version
      await eventually(
        'the processor to load the new version',
        async () => {
          await send(100, 1);
          const rows = await classified();
          return rows.some((r) => r.model_version === version) ? true : undefined;
        },
        60_000,
      );
      await send(200, 10);
      await eventually('rows scored by the new version', async () =>
        (await classified()).filter((r) => Number(r.row_number) >= 200).length >= 10 ? true : undefined,
      );

      const rows = await classified();
      assert.ok(
        rows.filter((r) => Number(r.row_number) <= 10).every((r) => r.model_version === bundled.version),
        'rows before the activation name the bundled version',
      );
      assert.ok(
        rows.filter((r) => Number(r.row_number) >= 200).every((r) => r.model_version === version),
        'rows after it name the new one',
      );
    } finally {
      await processor.stop();
      await producer.disconnect();
    }
  });
});
