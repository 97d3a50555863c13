import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bundleConsole } from './console-bundle.ts';

describe('bundleConsole', () => {
  it('bundles the console into one script and one stylesheet that holds uPlot’s', async () => {
    const files = await bundleConsole();
    assert.deepEqual([...files.keys()].sort(), ['app.css', 'app.css.map', 'app.js', 'app.js.map']);
    const css = new TextDecoder().decode(files.get('app.css')!.body);
    assert.match(css, /\.uplot/);
    assert.equal(files.get('app.js')!.type, 'text/javascript; charset=utf-8');
  });
});
