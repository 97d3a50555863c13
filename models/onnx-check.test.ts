import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { declarationOf, graphProblems, type GraphDeclaration } from './onnx-check.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const manifestOf = async (dir: string) =>
  JSON.parse(await readFile(path.join(here, dir, 'manifest.json'), 'utf8')) as Record<string, unknown> & {
    models: { file: string }[];
  };
const declared = (d: GraphDeclaration | string): GraphDeclaration => {
  assert.equal(typeof d, 'object', String(d));
  return d as GraphDeclaration;
};

describe('ONNX graphs against their manifests', () => {
  it('the bundled models match what their manifests declare, per file or at the top level', async () => {
    for (const dir of ['finance', 'catalog-genre']) {
      const manifest = await manifestOf(dir);
      for (const { file } of manifest.models) {
        const bytes = await readFile(path.join(here, dir, file));
        assert.deepEqual(
          await graphProblems(file, bytes, declared(declarationOf(manifest, file))),
          [],
          `${dir}/${file}`,
        );
      }
    }
  });

  it('names a renamed, retyped, reshaped, missing or extra input or output', async () => {
    const manifest = await manifestOf('finance');
    const file = manifest.models[0]!.file;
    const bytes = await readFile(path.join(here, 'finance', file));
    const real = declared(declarationOf(manifest, file));
    const [input] = real.inputs;
    const problems = await graphProblems(file, bytes, {
      inputs: [{ ...input!, type: 'tensor(float)', shape: ['N', 11] }],
      outputs: [...real.outputs.slice(1), { name: 'score' }],
    });
    assert.deepEqual(problems, [
      `${file}: input "statements" is float64 in the graph, float32 in the manifest`,
      `${file}: input "statements" dimension 1 is 12 in the graph, 11 in the manifest`,
      `${file}: the manifest's output "score" is not one of the graph's (${real.outputs.map((o) => o.name).join(', ')})`,
      `${file}: the graph's output "${real.outputs[0]!.name}" is not in the manifest`,
    ]);
  });

  it('refuses bytes that are no graph, and a manifest that declares nothing', async () => {
    const [problem] = await graphProblems('model.onnx', Buffer.from('not a graph'), {
      inputs: [{ name: 'x' }],
      outputs: [{ name: 'y' }],
    });
    assert.match(problem!, /^model\.onnx does not load in ONNX Runtime: /);
    const manifest = { models: [{ file: 'a.onnx' }, { file: 'b.onnx' }] };
    assert.equal(declarationOf(manifest, 'a.onnx'), 'a.onnx: declare its inputs and outputs in its models[] entry');
    assert.equal(
      declarationOf({ models: [{ file: 'a.onnx' }], inputs: [] }, 'a.onnx'),
      'the manifest: inputs: Too small: expected array to have >=1 items',
    );
  });
});
