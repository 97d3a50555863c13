import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { archiveStream, safeSegment, type ArchiveEntry } from './dataset-archive.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'millrace-archive-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const files = (n: number, bytes: number): ArchiveEntry[] =>
  Array.from({ length: n }, (_, i) => {
    const file = path.join(dir, `f${n}-${i}.bin`);
    writeFileSync(file, randomBytes(bytes));
    return { file, name: `train/zebra/${i}.bin` };
  });

describe('dataset archive', () => {
  for (const format of ['tar', 'zip'] as const)
    it(`a ${format}: the manifest first, then every file byte for byte`, async () => {
      const entries = files(3, 5000);
      const out = path.join(dir, `a.${format}`);
      await pipeline(
        archiveStream(format, { name: 'manifest.jsonl', text: '{"a":1}\n' }, entries),
        createWriteStream(out),
      );
      const list =
        format === 'tar'
          ? execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).trim().split('\n')
          : execFileSync('unzip', ['-Z1', out], { encoding: 'utf8' }).trim().split('\n');
      assert.deepEqual(list, ['manifest.jsonl', ...entries.map((e) => e.name)]);
      const read = (name: string) =>
        format === 'tar' ? execFileSync('tar', ['-xOf', out, name]) : execFileSync('unzip', ['-p', out, name]);
      assert.equal(read('manifest.jsonl').toString(), '{"a":1}\n');
      for (const e of entries) assert.ok(read(e.name).equals(execFileSync('cat', [e.file])), e.name);
    });

  it('reads files only as fast as the archive is consumed', async () => {
    const entries = files(40, 256 * 1024);
    let opened = 0;
    const stream = archiveStream(
      'tar',
      { name: 'manifest.jsonl', text: '' },
      (function* () {
        for (const e of entries) {
          opened += 1;
          yield e;
        }
      })(),
    );
    await new Promise((r) => setTimeout(r, 300)); // nobody reads
    // archiver buffers up to its high-water mark (1 MiB) on each side of its packer: a bound, not the dataset
    assert.ok(opened * 256 * 1024 <= 4 * 1024 * 1024, `${opened} of 40 files taken while nothing was read`);
    let bytes = 0;
    for await (const chunk of stream) bytes += (chunk as Buffer).length;
    assert.equal(opened, 40);
    assert.ok(bytes > 40 * 256 * 1024);
  });

  it('a destroyed stream (the client gone) stops taking files', async () => {
    const entries = files(20, 256 * 1024);
    let opened = 0;
    const stream = archiveStream(
      'zip',
      { name: 'manifest.jsonl', text: '' },
      (function* () {
        for (const e of entries) {
          opened += 1;
          yield e;
        }
      })(),
    );
    stream.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(opened <= 1, `${opened} files taken after the end`);
  });

  it('makes a safe path segment of any keyword', () => {
    assert.equal(safeSegment('red fox'), 'red fox');
    assert.equal(safeSegment('..'), '__');
    assert.equal(safeSegment('a/../b'), 'a_.._b');
    assert.equal(safeSegment('.hidden'), '_hidden');
    assert.equal(safeSegment('café'), 'café');
    assert.equal(safeSegment('x\u0000y\\z'), 'x_y_z');
  });
});
