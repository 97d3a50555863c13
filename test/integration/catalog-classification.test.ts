/**
 * The catalog classification processor on real services: a taxonomy saved in Postgres (with
 * reference items), rows in, classified rows out naming the taxonomy version, the model and what
 * decided; rows without a (known) taxonomy in the DLQ saying so.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { createTenant } from '../../api/auth/accounts.ts';
import { loadConfig } from '../../core/config.ts';
import { readDlqContext } from '../../core/dlq.ts';
import { createKafka } from '../../core/kafka.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { provisionTopics, registerSchemas } from '../../core/provision.ts';
import { Registry } from '../../core/schema-registry.ts';
import { dlqTopicOf } from '../../schemas/topic-spec.ts';
import { resolveTopic } from '../../core/topic-checks.ts';
import { loadGenreModel } from '../../processors/catalog/genre-model.ts';
import { catalogClassification } from '../../processors/catalog/index.ts';
import { saveTaxonomy } from '../../domain/catalog/taxonomy-store.ts';
import { runProcessor } from '../../processors/runtime/index.ts';
import { eventually } from '../../testkit/helpers.ts';
import { readCommitted } from '../../testkit/processor-helpers.ts';
import type { ClassifiedRow, UploadedRow } from '../../schemas/records/catalog.ts';

const schemas = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');
const suffix = randomBytes(4).toString('hex');

async function topic(name: string, schema: string) {
  const resolved = resolveTopic(
    {
      name: `test.${name}_${suffix}.raw`,
      partitions: 2,
      cleanup: { policy: 'delete', retentionMs: 86_400_000 },
      schema,
    },
    schemas,
  );
  await provisionTopics(createKafka('millrace-test'), [resolved]);
  await registerSchemas(new Registry(), [resolved]);
  return resolved.name;
}

describe('catalog classification processor', () => {
  const db = createPostgresPool(2);
  after(() => db.end());

  it(
    'classifies rows against the taxonomy version, with attributes and who decided; bad taxonomies to the DLQ',
    { timeout: 120_000 },
    async () => {
      const kafka = createKafka('millrace-test');
      const registry = new Registry();
      const [input, output] = await Promise.all([
        topic('cat_in', 'catalog.rows.raw.avsc'),
        topic('cat_out', 'catalog.rows.classified.avsc'),
      ]);
      const tenant = await createTenant(db, `catalog-${suffix}`);
      const genres = [
        'Drama',
        'Comedy',
        'Action',
        'Horror',
        'Adventure',
        'Thriller/Suspense',
        'Musical',
        'Romantic Comedy',
        'Documentary',
        'Black Comedy',
        'Western',
        'Concert/Performance',
      ];
      await saveTaxonomy(db, tenant.id, 'films', { genres: ['Drama'], attributes: {} }, []);
      const v2 = await saveTaxonomy(
        db,
        tenant.id,
        'films',
        { genres, attributes: { format: ['Blu-ray', 'DVD'], edition: ['Collector', 'Director’s Cut'] } },
        [
          { text: 'The Texas Chainsaw Massacre', genre: 'Horror' },
          { text: 'A Nightmare on Elm Street', genre: 'Horror' },
        ],
      );
      assert.equal(v2.version, 2);

      const row = (
        n: number,
        fields: Record<string, string>,
        taxonomy: string | null,
      ): UploadedRow & { source: string } => ({
        id: `up-${suffix}:${n}`,
        tenant_id: tenant.id,
        event_time: Date.now(),
        source: 'test',
        upload_id: `up-${suffix}`,
        row_number: n,
        fields,
        taxonomy,
      });
      const rows = [
        row(1, { title: 'The Good, the Bad and the Ugly', format: 'DVD' }, 'films'),
        row(2, { title: 'Halloween', edition: 'collectors edition blu ray' }, 'films'),
        row(3, { title: 'Singin in the Rain' }, 'films@2'),
        row(4, { title: 'No taxonomy at all' }, null),
        row(5, { title: 'Unknown taxonomy' }, 'nonesuch'),
      ];
      const producer = new AvroProducer(kafka, registry);
      await producer.connect();
      await producer.send(
        input,
        rows.map((value) => ({ value })),
      );
      await producer.disconnect();

      const model = loadGenreModel(loadConfig().CATALOG_GENRE_MODEL_DIR);
      const processor = await runProcessor(catalogClassification({ db, model: () => model }, { input, output }), {
        kafka,
        registry,
      });
      let classified: ClassifiedRow[] = [];
      try {
        await eventually('3 classified rows', async () => {
          classified = await Promise.all(
            (await readCommitted(kafka, output)).map(
              async (r) => (await registry.decode<ClassifiedRow>(r.value)).value,
            ),
          );
          return classified.length >= 3 ? true : undefined;
        });
      } finally {
        await processor.stop();
        await (await model).release();
      }

      const byRow = new Map(classified.map((c) => [Number(c.row_number), c]));
      assert.deepEqual([...byRow.keys()].sort(), [1, 2, 3]);
      for (const c of classified) {
        assert.equal(c.taxonomy, 'films@2', 'named by version, the latest when none was given');
        assert.equal(c.model_id, 'catalog-genre');
        assert.equal(c.model_version, '1.0.0');
        assert.ok(c.genre === null || genres.includes(c.genre));
        assert.ok(['model', 'reference', 'none'].includes(c.decided_by));
      }
      // avsc decodes nested records as class instances: compare their data
      assert.deepEqual(JSON.parse(JSON.stringify(byRow.get(1)!.attributes)), {
        format: { value: 'DVD', rule: 'exact', score: 1 },
      });
      assert.equal(byRow.get(2)!.attributes.format?.value, 'Blu-ray');
      assert.equal(byRow.get(2)!.attributes.edition?.value, 'Collector', 'fuzzy: "collectors" for "Collector"');
      assert.equal(byRow.get(2)!.attributes.edition?.rule, 'fuzzy');
      assert.deepEqual(byRow.get(1)!.fields, { title: 'The Good, the Bad and the Ugly', format: 'DVD' });

      const dead = (await readCommitted(kafka, dlqTopicOf(input))).map((r) => readDlqContext(r.headers));
      assert.equal(dead.length, 2);
      assert.ok(dead.every((d) => d.errorClass === 'TaxonomyNotFoundError'));
      assert.ok(dead.some((d) => /names no taxonomy/.test(d.errorMessage)));
      assert.ok(dead.some((d) => /taxonomy nonesuch does not exist/.test(d.errorMessage)));
    },
  );
});
