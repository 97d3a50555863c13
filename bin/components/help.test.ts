/** `millrace help`'s rendering: a component's spec as text, the list of components, and line wrapping. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderComponentHelp, renderComponentList, wrap } from './help.ts';
import { componentByName, components } from './registry.ts';

describe('millrace help', () => {
  it("prints a component's name, kind, description, topics, config table and example", () => {
    const text = renderComponentHelp(componentByName('market-features'));
    assert.match(text, /^market-features \(processor\)\n/);
    assert.match(text, /Adds indicators to each quote/);
    assert.match(text, /\n {2}input +market\.quotes\.raw\n/);
    assert.match(text, /\n {2}output +market\.quotes\.enriched\n/);
    assert.match(text, /\n {2}state +market\.indicators\.state /);
    assert.match(text, /\n {2}dead letters +market\.quotes\.raw\.dlq /);
    assert.match(text, /\n {2}NAME +TYPE +DEFAULT\n/);
    assert.match(text, /\n {2}--concurrency +integer +3\n {6}input partitions processed at once/);
    assert.match(text, /\nexample:\n {2}npx millrace processor market-features\n/);
  });

  it('says a required flag is required, and that a source run by the API is', () => {
    assert.match(renderComponentHelp(componentByName('model-scoring')), /\n {2}--model +string +\(required\)\n/);
    assert.match(renderComponentHelp(componentByName('uploads')), /\n {2}runs +the API: POST \/v1\/uploads/);
  });

  it('lists every component by kind', () => {
    const text = renderComponentList(components).replace(/\s+/g, ' ');
    for (const c of components) assert.ok(text.includes(c.name), c.name);
    assert.match(text, /sources uploads, /);
  });

  it('wraps words within the width, each line indented', () => {
    assert.equal(wrap('aa bb cc dd', '  ', 8), '  aa bb\n  cc dd');
    assert.equal(wrap('averyveryverylongword x', '- ', 6), '- averyveryverylongword\n- x');
  });
});
