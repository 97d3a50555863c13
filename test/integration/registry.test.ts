import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Registry, SchemaRefusedError } from '../../core/schema-registry.ts';
import { fixtures, flightTopic } from '../../testkit/helpers.ts';

const schema = (file: string) => readFileSync(path.join(fixtures, file), 'utf8');

describe('schema registry (Apicurio, Confluent-compatible API)', () => {
  const registry = new Registry();

  it('provisioning sets BACKWARD on the subject and re-registering returns the same id', async () => {
    const topic = await flightTopic('registry');
    assert.equal(await registry.compatibility(topic.subject), 'BACKWARD');
    const first = await registry.latestId(topic.subject);
    assert.equal(await new Registry().register(topic.subject, topic.schemaText), first);
    assert.ok((await registry.subjects()).includes(topic.subject));
  });

  it('accepts a compatible change (a new optional field) under a new id', async () => {
    const topic = await flightTopic('registry_compatible');
    const first = await registry.latestId(topic.subject);
    const second = await new Registry().register(topic.subject, schema('flights-v2-compatible.avsc'));
    assert.notEqual(second, first);
    assert.equal(await new Registry().latestId(topic.subject), second);
  });

  it('refuses an incompatible change (a new required field) with the registry message', async () => {
    const topic = await flightTopic('registry_incompatible');
    const before = await registry.latestId(topic.subject);
    await assert.rejects(
      new Registry().register(topic.subject, schema('flights-v2-incompatible.avsc')),
      (error: unknown) => {
        assert.ok(error instanceof SchemaRefusedError);
        assert.match(
          error.message,
          new RegExp(`registry refused the schema for ${topic.subject.replace(/\./g, '\\.')}: .+`),
        );
        assert.match(error.message, /incompatib/i);
        return true;
      },
    );
    assert.equal(await new Registry().latestId(topic.subject), before, 'the subject still has the old schema');
  });
});
