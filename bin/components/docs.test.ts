/** docs/components.md is what the component specs generate now: a spec changed without `npm run docs` fails here. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { components } from './registry.ts';
import { componentsDoc, DOCS_FILE } from './docs.ts';

describe('docs/components.md', () => {
  it('is up to date with the component specs', () => {
    let current: string | undefined;
    try {
      current = readFileSync(DOCS_FILE, 'utf8');
    } catch {
      assert.fail('docs/components.md is missing: run `npm run docs` and commit it');
    }
    assert.ok(current === componentsDoc(), 'docs/components.md is stale: run `npm run docs` and commit it');
  });

  it('has a section for every component, with its config and example', () => {
    const doc = componentsDoc();
    for (const c of components) {
      assert.ok(doc.includes(`### ${c.name}\n`), c.name);
      for (const f of c.config) assert.ok(doc.includes(`| \`${f.name}\` |`), `${c.name} ${f.name}`);
      assert.ok(doc.includes(c.example), `${c.name}: example`);
    }
  });
});
