/**
 * Catalog models per tenant, on real services: a tenant trains a genre model through the API from
 * a labelled upload (vega-datasets movies, Title -> Major_Genre), the version is registered under
 * the tenant with its held-out accuracy, a taxonomy names it, and an upload processed with that
 * taxonomy is classified by it, while a taxonomy naming no model stays with the platform's
 * `catalog-genre`. Another tenant can neither see the model nor name it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../api/app.ts';
import { composeApi } from '../../api/compose.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { provisionTopics, registerSchemas } from '../../core/provision.ts';
import { Registry } from '../../core/schema-registry.ts';
import { resolveTopic } from '../../core/topic-checks.ts';
import { loadVersion } from '../../models/model-registry.ts';
import { loadGenreModel } from '../../processors/catalog/genre-model.ts';
import { processors } from '../../processors/index.ts';
import { runProcessor } from '../../processors/runtime/index.ts';
import type { ClassifiedRow } from '../../schemas/records/catalog.ts';
import { eventually, vegaDataFile } from '../../testkit/helpers.ts';
import { readCommitted } from '../../testkit/processor-helpers.ts';

const schemas = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');
const suffix = randomBytes(4).toString('hex');
const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const log = createLogger('test');

const GENRES = [
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

const movies = (
  JSON.parse(readFileSync(vegaDataFile('movies.json'), 'utf8')) as { Title: unknown; 'Major Genre': string | null }[]
).filter((m) => typeof m.Title === 'string');

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
  await provisionTopics(kafka, [resolved]);
  await registerSchemas(registry, [resolved]);
  return resolved.name;
}

let app: App;
let input: string;
let output: string;
const tenants = { own: '', other: '' };
const keys = { own: '', other: '' };

const call = (who: keyof typeof keys, method: string, url: string, body?: unknown) =>
  app.request(url, {
    method,
    headers: {
      authorization: `Bearer ${keys[who]}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const upload = async (who: keyof typeof keys, lines: Record<string, unknown>[]) => {
  const response = await app.request('/v1/uploads?filename=rows.jsonl', {
    method: 'POST',
    headers: { authorization: `Bearer ${keys[who]}`, 'content-type': 'application/x-ndjson' },
    body: lines.map((l) => JSON.stringify(l)).join('\n'),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return ((await response.json()) as { id: string }).id;
};

before(async () => {
  await Promise.all([producer.connect(), admin.connect()]);
  [input, output] = await Promise.all([
    topic('tenant_genre_in', 'catalog.rows.raw.avsc'),
    topic('tenant_genre_out', 'catalog.rows.classified.avsc'),
  ]);
  for (const who of ['own', 'other'] as const) {
    tenants[who] = (await createTenant(db, `genre-${who}-${suffix}`)).id;
    keys[who] = (await createKey(db, tenants[who], 'admin')).key;
  }
  // processed rows go to this test's own topic, with the schema of catalog.rows.raw
  const uploads = new Uploads(db, mkdtempSync(path.join(tmpdir(), 'millrace-genre-')), producer, log, input);
  ({ app } = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin, db, clickhouse },
    { log, checks: {}, topics: [], uploads },
  ));
});
after(() => Promise.all([producer.disconnect(), admin.disconnect(), db.end(), clickhouse.close()]));

describe('a tenant genre model trained through the API', () => {
  it(
    'is registered under the tenant, named by its taxonomy, classifies its uploads, and stays hidden from others',
    {
      timeout: 300_000,
    },
    async () => {
      const labelled = await upload(
        'own',
        movies.map((m) => ({ Title: String(m.Title), Major_Genre: m['Major Genre'] ?? '' })),
      );
      const params = {
        name: 'films',
        upload: labelled,
        text: ['Title'],
        label: 'Major_Genre',
        dimensions: 16384,
        epochs: 8,
      };

      const misspelt = await call('own', 'POST', '/v1/genre-model-jobs', { ...params, label: 'Genre' });
      assert.equal(misspelt.status, 400);
      assert.match(((await misspelt.json()) as { message: string }).message, /column "Genre" is not in the upload/);
      assert.equal(
        (await call('other', 'POST', '/v1/genre-model-jobs', params)).status,
        404,
        "another tenant's upload is unknown",
      );

      const queued = await call('own', 'POST', '/v1/genre-model-jobs', params);
      assert.equal(queued.status, 202, await queued.clone().text());
      const { id: jobId } = (await queued.json()) as { id: string };
      const job = await eventually(
        'the genre model job to finish',
        async () => {
          const body = (await (await call('own', 'GET', `/v1/genre-model-jobs/${jobId}`)).json()) as {
            status: string;
            reason: string | null;
            model_id: string;
            model_version: string;
            metrics: { rows: number; skipped: number; labels: number; held_out: { rows: number; accuracy: number } };
          };
          return body.status === 'succeeded' || body.status === 'failed' ? body : undefined;
        },
        240_000,
      );
      assert.equal(job.status, 'succeeded', job.reason ?? '');
      const modelId = `${tenants.own}.films`;
      assert.equal(job.model_id, modelId);
      const usable = movies.filter((m) => m['Major Genre']);
      assert.equal(job.metrics.rows, usable.length);
      assert.equal(job.metrics.skipped, movies.length - usable.length);
      assert.equal(job.metrics.labels, GENRES.length);
      // the held-out fifth (every fifth usable row): the model must beat always answering its commonest genre
      const heldOut = usable.filter((_, i) => i % 5 === 0).map((m) => m['Major Genre']!);
      const commonest = Math.max(...GENRES.map((g) => heldOut.filter((h) => h === g).length)) / heldOut.length;
      assert.equal(job.metrics.held_out.rows, heldOut.length);
      assert.ok(
        job.metrics.held_out.accuracy > commonest,
        `held-out accuracy ${job.metrics.held_out.accuracy} against ${commonest}`,
      );
      assert.equal(
        (await call('other', 'GET', `/v1/genre-model-jobs/${jobId}`)).status,
        404,
        "another tenant's job is unknown",
      );

      const versions = (await (await call('own', 'GET', `/v1/models/${modelId}/versions`)).json()) as {
        versions: { version: string; stage: string; manifest: { training: { heldOut: { accuracy: number } } } }[];
      };
      assert.equal(versions.versions.length, 1);
      assert.equal(versions.versions[0]!.version, job.model_version);
      assert.equal(versions.versions[0]!.stage, 'production', 'the first version goes to production');
      assert.equal(versions.versions[0]!.manifest.training.heldOut.accuracy, job.metrics.held_out.accuracy);
      const owner = await db.query<{ tenant_id: string }>('SELECT tenant_id FROM models WHERE id = $1', [modelId]);
      assert.equal(owner.rows[0]?.tenant_id, tenants.own);

      // another tenant: the model is unknown, in the words an id that does not exist gets
      assert.equal((await call('other', 'GET', `/v1/models/${modelId}/versions`)).status, 404);
      const listed = (await (await call('other', 'GET', '/v1/models')).json()) as { models: { id: string }[] };
      assert.ok(!listed.models.some((m) => m.id === modelId));
      const named = await call('other', 'PUT', '/v1/taxonomies/films', { genres: GENRES, model: modelId });
      const missing = `${tenants.own}.nothing-${suffix}`;
      const unknown = await call('other', 'PUT', '/v1/taxonomies/films', { genres: GENRES, model: missing });
      assert.equal(named.status, 404);
      assert.equal(unknown.status, 404);
      assert.equal(
        ((await named.json()) as { message: string }).message.replace(modelId, '<id>'),
        ((await unknown.json()) as { message: string }).message.replace(missing, '<id>'),
      );

      const saved = await call('own', 'PUT', '/v1/taxonomies/films', { genres: GENRES, model: modelId });
      assert.equal(saved.status, 201, await saved.clone().text());
      assert.equal(((await saved.json()) as { model: string }).model, modelId);
      const plain = await call('own', 'PUT', '/v1/taxonomies/plain', { genres: GENRES });
      assert.equal(((await plain.json()) as { model: string }).model, 'catalog-genre', 'the platform model by default');
      assert.equal(
        ((await (await call('own', 'GET', '/v1/taxonomies/films')).json()) as { model: string }).model,
        modelId,
      );

      // two product files of the tenant, one per taxonomy
      const titles = movies.slice(0, 40).map((m) => ({ sku: `s-${String(m.Title)}`, title: String(m.Title) }));
      const byTaxonomy: Record<string, string> = {};
      for (const taxonomy of ['films', 'plain']) {
        const id = await upload('own', titles);
        byTaxonomy[taxonomy] = id;
        const processed = await call('own', 'POST', `/v1/uploads/${id}/process`, { columns: ['title'], taxonomy });
        assert.equal(processed.status, 202);
      }

      const spec = processors['catalog-classification']!({ input, output });
      // its own consumer group: the test reads its own topic, and leaves the real group alone
      const processor = await runProcessor({ ...spec, name: `catalog-classification-${suffix}` }, { kafka, registry });
      let rows: ClassifiedRow[];
      try {
        rows = await eventually(
          'both uploads classified',
          async () => {
            const found = await Promise.all(
              (await readCommitted(kafka, output)).map(
                async (r) => (await registry.decode<ClassifiedRow>(r.value)).value,
              ),
            );
            return found.length >= titles.length * 2 ? found : undefined;
          },
          120_000,
        );
      } finally {
        await processor.stop();
      }
      const ofUpload = (taxonomy: string) => rows.filter((r) => r.upload_id === byTaxonomy[taxonomy]);
      assert.equal(ofUpload('films').length, titles.length);
      assert.equal(ofUpload('plain').length, titles.length);
      for (const row of ofUpload('films')) {
        assert.equal(row.model_id, modelId);
        assert.equal(row.model_version, job.model_version);
        assert.equal(
          row.decided_by,
          'model',
          'every genre the model knows is in the taxonomy, and it has no references',
        );
        assert.match(row.taxonomy, /^films@\d+$/);
      }
      for (const row of ofUpload('plain')) assert.equal(row.model_id, 'catalog-genre');

      // the genres are the registered version's own answers
      const model = await loadVersion(db, modelId, job.model_version, (dir) => loadGenreModel(dir));
      try {
        const expected = await model.predict(ofUpload('films').map((r) => r.fields.title!));
        assert.deepEqual(
          ofUpload('films').map((r) => r.genre),
          expected.map((p) => p.label),
        );
      } finally {
        await model.release();
      }
    },
  );
});
