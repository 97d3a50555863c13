import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { catalogueKey, loadCatalogue, topicByName } from './catalogue.ts';
import { planTopics } from './provision.ts';
import { type TopicSpec } from '../schemas/topic-spec.ts';
import { CatalogueError, resolveCatalogue } from './topic-checks.ts';

const schemaDir = mkdtempSync(path.join(tmpdir(), 'millrace-schemas-'));
const envelope = [
  { name: 'id', type: 'string' },
  { name: 'tenant_id', type: 'string' },
  { name: 'event_time', type: 'long' },
];
writeFileSync(path.join(schemaDir, 'ok.avsc'), JSON.stringify({ type: 'record', name: 'Ok', fields: envelope }));
writeFileSync(
  path.join(schemaDir, 'no-tenant.avsc'),
  JSON.stringify({ type: 'record', name: 'N', fields: [envelope[0], envelope[2]] }),
);
writeFileSync(
  path.join(schemaDir, 'broken.avsc'),
  '{"type": "record", "name": "B", "fields": [{"name": "x", "type": "nope"}]}',
);
writeFileSync(path.join(schemaDir, 'string.avsc'), '"string"');

const spec = (over: Partial<TopicSpec>): TopicSpec => ({
  name: 'demo.things.raw',
  partitions: 3,
  cleanup: { policy: 'delete', retentionMs: 1000 },
  schema: 'ok.avsc',
  ...over,
});

describe('the platform catalogue', () => {
  it('resolves: every schema parses, carries the envelope, and every topic has a DLQ', () => {
    const topics = loadCatalogue();
    assert.ok(topics.length > 0);
    for (const t of topics) {
      assert.equal(t.dlq, `${t.name}.dlq`);
      assert.equal(t.subject, `${t.name}-value`);
      assert.match(t.name, /^[a-z_0-9]+\.[a-z_0-9]+\.[a-z_0-9]+$/);
    }
  });

  it('looks topics up by name and names the known ones when asked for an unknown one', () => {
    assert.equal(topicByName('market.quotes.raw').partitions, 6);
    assert.throws(
      () => topicByName('market.quotes.nope'),
      /unknown topic "market.quotes.nope"; the catalogue has: .*market.quotes.raw/,
    );
  });

  it('keys a record as its topic declares: key fields joined by ":", else (no key, or a topic not in the catalogue) its id', () => {
    const quote = { id: 'q-1', tenant_id: 'acme', symbol: 'MSFT' };
    assert.equal(catalogueKey('market.quotes.raw', quote), 'acme:MSFT');
    assert.equal(catalogueKey('market.quotes.enriched', quote), 'acme:MSFT');
    assert.equal(catalogueKey('models.training.events', { id: 'j:7', job_id: 'j' }), 'j');
    assert.equal(catalogueKey('samples.flights.raw', quote), 'q-1');
    assert.equal(catalogueKey('test.adhoc.topic', quote), 'q-1');
  });

  it('plans each topic and a single-partition DLQ kept 30 days', () => {
    const plan = planTopics(loadCatalogue());
    const quotes = plan.find((p) => p.name === 'market.quotes.raw');
    const dlq = plan.find((p) => p.name === 'market.quotes.raw.dlq');
    assert.deepEqual(quotes?.config, { 'cleanup.policy': 'delete', 'retention.ms': String(30 * 86_400_000) });
    assert.equal(dlq?.partitions, 1);
    assert.equal(dlq?.config['cleanup.policy'], 'delete');
  });
});

describe('catalogue checks', () => {
  const refuses = (over: Partial<TopicSpec>, message: RegExp) =>
    assert.throws(
      () => resolveCatalogue([spec(over)], schemaDir),
      (e: unknown) => e instanceof CatalogueError && message.test(e.message),
    );

  it('accepts a good entry', () => {
    const [t] = resolveCatalogue([spec({})], schemaDir);
    assert.equal(t?.dlq, 'demo.things.raw.dlq');
  });
  it('refuses names that are not <domain>.<entity>.<stage>', () =>
    refuses({ name: 'Demo.things' }, /must be <domain>.<entity>.<stage>/));
  it('refuses zero partitions', () => refuses({ partitions: 0 }, /partitions must be a positive integer/));
  it('refuses a non-positive retention', () =>
    refuses({ cleanup: { policy: 'delete', retentionMs: 0 } }, /retentionMs must be positive/));
  it('refuses a schema that is not Avro', () => refuses({ schema: 'broken.avsc' }, /broken.avsc is not valid Avro/));
  it('refuses a missing schema file', () => refuses({ schema: 'missing.avsc' }, /missing.avsc is not valid Avro/));
  it('refuses a schema that is not a record', () => refuses({ schema: 'string.avsc' }, /must be an Avro record/));
  it('refuses a schema without the envelope', () =>
    refuses({ schema: 'no-tenant.avsc' }, /lacks envelope field\(s\) tenant_id/));
  it('refuses a topic declared twice', () => {
    assert.throws(() => resolveCatalogue([spec({}), spec({})], schemaDir), /declared twice/);
  });
  it('compacted topics get no retention', () => {
    const plan = planTopics(resolveCatalogue([spec({ cleanup: { policy: 'compact' } })], schemaDir));
    assert.deepEqual(plan[0]?.config, { 'cleanup.policy': 'compact' });
  });
});
