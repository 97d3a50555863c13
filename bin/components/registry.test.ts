/**
 * The component registry holds what it says: every spec is complete, its topics are in the
 * catalogue, its settings are core/config.ts's (with their real defaults) and its flags its
 * command's, and the registry is in step with the tables that run components (processors/index.ts,
 * connectors/sinks/index.ts, bin/commands/source.ts, processors/pipelines.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sinks } from '../../connectors/sinks/index.ts';
import { parseConfig } from '../../core/config.ts';
import type { ComponentSpec, ConfigField } from '../../core/component-spec.ts';
import { processors } from '../../processors/index.ts';
import { pipelines } from '../../processors/pipelines.ts';
import { catalogue } from '../../schemas/catalogue.ts';
import { processorOptions } from '../commands/processor.ts';
import { sinkOptions } from '../commands/sink.ts';
import { sources } from '../commands/source.ts';
import { componentByName, components, UnknownComponentError } from './registry.ts';

const topics = new Set(catalogue.map((t) => t.name));
const namesOf = (kind: ComponentSpec['kind']) =>
  components
    .filter((c) => c.kind === kind)
    .map((c) => c.name)
    .sort();
const isFlag = (field: ConfigField) => field.name.startsWith('--');
/** A default written as derived (`$MILLRACE_HOME/...`, `<checkout>/...`) rather than as a value. */
const isPlaceholder = (value: string) => /[$<]/.test(value);

describe('the component registry', () => {
  it('has every component once, each with a name, a description, how it runs and an example', () => {
    const names = components.map((c) => c.name);
    assert.deepEqual(
      names.filter((n, i) => names.indexOf(n) !== i),
      [],
      'component names must be unique',
    );
    for (const c of components) {
      assert.match(c.name, /^[a-z][a-z0-9-]*$/, `component name ${c.name}`);
      assert.ok(['source', 'processor', 'sink'].includes(c.kind), `${c.name}: kind ${c.kind}`);
      assert.ok(c.description.trim().length > 20, `${c.name} needs a description`);
      assert.ok(c.runs.trim(), `${c.name} must say how it runs`);
      assert.ok(c.example.trim(), `${c.name} needs an example`);
    }
  });

  it('gives every config field a type, a description, an example, and a default unless required', () => {
    for (const c of components) {
      const fields = c.config.map((f) => f.name);
      assert.deepEqual(
        fields.filter((n, i) => fields.indexOf(n) !== i),
        [],
        `${c.name}: config names must be unique`,
      );
      for (const f of c.config) {
        const where = `${c.name} ${f.name}`;
        assert.match(f.name, /^(--[a-z][a-z0-9-]*|[A-Z][A-Z0-9_]*)$/, `${where}: a --flag or an ENVIRONMENT_VARIABLE`);
        assert.ok(f.type, `${where} needs a type`);
        assert.ok(f.description.trim(), `${where} needs a description`);
        assert.ok(f.example.trim(), `${where} needs an example`);
        assert.ok(
          f.required === true ? f.default === undefined : f.default !== undefined,
          `${where}: a default, or required`,
        );
      }
    }
  });

  it('names only topics of the catalogue (whose DLQs provisioning creates)', () => {
    for (const c of components) {
      for (const topic of [...c.input, ...c.output, ...(c.sideOutputs ?? [])]) {
        assert.ok(topics.has(topic), `${c.name}: topic ${topic} is not in schemas/catalogue.ts`);
      }
      if (c.stateTopic)
        assert.ok(!topics.has(c.stateTopic), `${c.name}: its state topic is created by the runtime, not the catalogue`);
    }
  });

  it('declares environment variables core/config.ts reads, with its defaults, and examples it accepts', () => {
    const defaults = parseConfig({}) as unknown as Record<string, unknown>;
    for (const c of components) {
      for (const f of c.config.filter((field) => !isFlag(field))) {
        const where = `${c.name} ${f.name}`;
        const parsed = parseConfig({ [f.name]: f.example }) as unknown as Record<string, unknown>;
        assert.ok(Object.hasOwn(parsed, f.name), `${where} is not a setting of core/config.ts`);
        if (f.default !== undefined && f.default !== '' && !isPlaceholder(f.default)) {
          const declared = parseConfig({ [f.name]: f.default }) as unknown as Record<string, unknown>;
          assert.deepEqual(
            declared[f.name],
            defaults[f.name],
            `${where}: default ${f.default} is not core/config.ts's`,
          );
        }
        if (f.default === '') assert.deepEqual(defaults[f.name], [], `${where}: an empty default is an empty list`);
      }
    }
  });

  it("declares only flags of the component's command", () => {
    const commandFlags = {
      processor: Object.keys(processorOptions),
      sink: Object.keys(sinkOptions),
      source: [] as string[],
    };
    for (const c of components) {
      for (const f of c.config.filter(isFlag)) {
        assert.ok(
          commandFlags[c.kind].includes(f.name.slice(2)),
          `${c.name}: ${f.name} is not an option of millrace ${c.kind}`,
        );
        if (f.type === 'integer')
          assert.match(`${f.default ?? ''} ${f.example}`.trim(), /^\d+( \d+)?$/, `${c.name} ${f.name}: integers`);
      }
    }
    // and every option a processor or sink takes is documented on each of them (--model only where used)
    for (const c of components.filter((x) => x.kind === 'sink'))
      assert.deepEqual(
        c.config
          .filter(isFlag)
          .map((f) => f.name.slice(2))
          .sort(),
        Object.keys(sinkOptions).sort(),
        c.name,
      );
    for (const c of components.filter((x) => x.kind === 'processor')) {
      const documented = new Set(c.config.filter(isFlag).map((f) => f.name.slice(2)));
      assert.deepEqual(
        Object.keys(processorOptions).filter((o) => o !== 'model' && !documented.has(o)),
        [],
        c.name,
      );
    }
  });

  it('has a spec for every processor, sink and command-line source, and no more', () => {
    assert.deepEqual(namesOf('processor'), Object.keys(processors).sort());
    assert.deepEqual(namesOf('sink'), Object.keys(sinks).sort());
    const runByCommand = components
      .filter((c) => c.kind === 'source' && c.runs === `millrace source ${c.name}`)
      .map((c) => c.name);
    assert.deepEqual(runByCommand.sort(), Object.keys(sources).sort());
  });

  it("declares the topics each processor's factory uses by default, and the flags it cannot do without", () => {
    for (const c of components.filter((x) => x.kind === 'processor')) {
      const required = c.config.filter((f) => f.required).map((f) => f.name.slice(2));
      const factory = processors[c.name]!;
      for (const flag of required) {
        const given = Object.fromEntries(
          required.filter((r) => r !== flag).map((r) => [r, r === 'model' ? 'm' : 'some.topic.raw']),
        );
        assert.throws(() => factory(given), new RegExp(`--${flag}`), `${c.name} without --${flag}`);
      }
      if (required.some((r) => r === 'input' || r === 'output')) continue;
      const spec = factory(required.includes('model') ? { model: 'm' } : {});
      assert.deepEqual([spec.input], [...c.input], `${c.name}: input`);
      assert.deepEqual([spec.output], [...c.output], `${c.name}: output`);
      assert.deepEqual(spec.sideOutputs ?? [], c.sideOutputs ?? [], `${c.name}: side outputs`);
      assert.equal(spec.state?.topic, c.stateTopic, `${c.name}: state topic`);
    }
  });

  it('runs only registered components in the pipelines millrace start supervises', () => {
    for (const pipeline of pipelines) {
      for (const [kind, name] of pipeline.roles) {
        if (kind !== 'source' && kind !== 'processor' && kind !== 'sink') continue; // the trainer is a role of its own
        assert.equal(componentByName(name ?? '').kind, kind, `${pipeline.name}: ${kind} ${name}`);
      }
    }
  });

  it('refuses an unknown name, naming it and the known ones', () => {
    assert.throws(
      () => componentByName('frobnicate'),
      (error: Error) =>
        error instanceof UnknownComponentError &&
        /unknown component "frobnicate"; known: .*finance-scoring/.test(error.message),
    );
  });
});
