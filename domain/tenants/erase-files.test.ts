import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { removeFolders } from './erase-files.ts';

describe('removeFolders', () => {
  it('removes the named folders with their files, counting them, and leaves the rest', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'erase-files-'));
    fs.mkdirSync(path.join(root, 'u1', 'nested'), { recursive: true });
    fs.writeFileSync(path.join(root, 'u1', 'original'), 'a');
    fs.writeFileSync(path.join(root, 'u1', 'nested', 'result.csv'), 'b');
    fs.mkdirSync(path.join(root, 'u2'));
    fs.writeFileSync(path.join(root, 'u2', 'original'), 'c');
    assert.equal(
      await removeFolders([
        { root, name: 'u1' },
        { root, name: 'missing' },
      ]),
      2,
    );
    assert.equal(fs.existsSync(path.join(root, 'u1')), false);
    assert.equal(fs.readFileSync(path.join(root, 'u2', 'original'), 'utf8'), 'c');
    assert.equal(await removeFolders([{ root, name: 'u1' }]), 0, 'a second run finds nothing');
  });

  it('refuses a name that leaves its root', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'erase-files-'));
    for (const name of ['..', '../x', 'a/b', '.', '']) {
      await assert.rejects(removeFolders([{ root, name }]), /is not a folder name/);
    }
    assert.equal(fs.existsSync(root), true);
  });
});
