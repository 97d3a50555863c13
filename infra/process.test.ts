import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { rotateLog } from './process.ts';

describe('rotateLog', () => {
  it('keeps the nine previous logs, newest as .1, and drops the oldest', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-rotate-'));
    const log = path.join(dir, 'kafka-1.log');
    try {
      rotateLog(log); // nothing yet: nothing to keep
      assert.deepEqual(fs.readdirSync(dir), []);
      for (let start = 1; start <= 11; start++) {
        rotateLog(log);
        fs.writeFileSync(log, `start ${start}\n`);
      }
      rotateLog(log);
      const kept = fs.readdirSync(dir).sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
      assert.deepEqual(
        kept,
        Array.from({ length: 9 }, (_, i) => `kafka-1.log.${i + 1}`),
      );
      assert.equal(fs.readFileSync(`${log}.1`, 'utf8'), 'start 11\n');
      assert.equal(fs.readFileSync(`${log}.9`, 'utf8'), 'start 3\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
