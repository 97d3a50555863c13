/**
 * The registry as a Confluent client sees it (the running one: Apicurio in canonical-hash mode
 * behind infra/registry-guard.ts): the registered schema in another formatting, key order or docs
 * is found, by lookup and by registration, on the platform's subjects and on tenants' own; the
 * platform's subjects take no new version, deletion or compatibility change without provision's
 * credentials, while a tenant's subject takes new versions as before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topicByName } from '../../core/catalogue.ts';
import { loadConfig } from '../../core/config.ts';
import { provisionCredentials } from '../../core/schema-registry.ts';
import { flightTopic } from '../../testkit/helpers.ts';

const url = loadConfig().SCHEMA_REGISTRY_URL.replace(/\/+$/, '');
const platform = topicByName('samples.flights.raw');

async function call(method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
}

/** Every object's keys in reverse order, indented: the same schema, written otherwise. */
const reordered = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(reordered)
    : typeof value === 'object' && value !== null
      ? Object.fromEntries(
          Object.entries(value)
            .reverse()
            .map(([k, v]) => [k, reordered(v)]),
        )
      : value;

/** The schema text a client may hold for a registered one: keys in another order, other spacing, no docs. */
function variants(schemaText: string): string[] {
  const schema = JSON.parse(schemaText) as Record<string, unknown>;
  const undocumented = { ...schema };
  delete undocumented.doc;
  return [
    JSON.stringify(reordered(schema), null, 4),
    JSON.stringify(undocumented),
    JSON.stringify(reordered(undocumented)),
  ];
}

const versionsOf = async (subject: string) => (await call('GET', `/subjects/${subject}/versions`)).body;

describe('the registry, for Confluent clients', () => {
  it('finds the registered schema in another formatting, by lookup and by registration, on a platform subject', async () => {
    const subject = platform.subject;
    const latest = await call('GET', `/subjects/${subject}/versions/latest`);
    const before = await versionsOf(subject);
    for (const schema of variants(platform.schemaText)) {
      const found = await call('POST', `/subjects/${subject}`, { schema });
      assert.equal(found.status, 200, JSON.stringify(found.body));
      assert.deepEqual([found.body.id, found.body.version], [latest.body.id, latest.body.version]);
      const registered = await call('POST', `/subjects/${subject}/versions`, { schema });
      assert.deepEqual(registered, { status: 200, body: { id: latest.body.id } });
    }
    assert.deepEqual(await versionsOf(subject), before);
  });

  it("on a tenant's own subject: the same lookups find it, and a new schema is a new version", async () => {
    const topic = await flightTopic('guard_open');
    const [first] = (await versionsOf(topic.subject)) as unknown as number[];
    for (const schema of variants(topic.schemaText)) {
      const registered = await call('POST', `/subjects/${topic.subject}/versions`, { schema });
      assert.equal(registered.status, 200);
      assert.deepEqual(await versionsOf(topic.subject), [first]);
    }
    const wider = JSON.parse(topic.schemaText) as { fields: unknown[] };
    wider.fields.push({ name: 'gate', type: ['null', 'string'], default: null });
    const added = await call('POST', `/subjects/${topic.subject}/versions`, { schema: JSON.stringify(wider) });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.equal((await versionsOf(topic.subject)).length, 2);
  });

  it('refuses a new version, a deletion or a compatibility change on a platform subject, naming it', async () => {
    const subject = platform.subject;
    const before = await versionsOf(subject);
    const wider = JSON.parse(platform.schemaText) as { fields: unknown[] };
    wider.fields.push({ name: 'gate', type: ['null', 'string'], default: null });
    for (const [method, route, body] of [
      ['POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(wider) }],
      ['DELETE', `/subjects/${subject}`, undefined],
      ['DELETE', `/subjects/${subject}/versions/1`, undefined],
      ['PUT', `/config/${subject}`, { compatibility: 'NONE' }],
    ] as const) {
      const refused = await call(method, route, body);
      assert.equal(refused.status, 422, `${method} ${route}: ${JSON.stringify(refused.body)}`);
      assert.equal(refused.body.error_code, 42205);
      assert.match(
        String(refused.body.message),
        /subject samples\.flights\.raw-value is read-only: .*millrace provision/,
      );
    }
    const key = await call('POST', `/subjects/${platform.name}-key/versions`, { schema: '"string"' });
    assert.equal(key.status, 422);
    assert.match(String(key.body.message), /plain UTF-8 string keys \(StringSerializer\)/);
    assert.deepEqual(await versionsOf(subject), before);
    assert.equal((await call('GET', `/config/${subject}`)).body.compatibilityLevel, 'BACKWARD');

    const origin = new URL(url).origin;
    const native = await fetch(
      `${origin}/apis/registry/v3/admin/config/properties/apicurio.ccompat.use-canonical-hash`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value: 'false' }),
      },
    );
    assert.equal(native.status, 403);
  });

  it("takes the same change from provision's credentials", async () => {
    const { username, password } = provisionCredentials();
    const basic = { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
    const set = await call('PUT', `/config/${platform.subject}`, { compatibility: 'BACKWARD' }, basic);
    assert.equal(set.status, 200, JSON.stringify(set.body));
  });
});
