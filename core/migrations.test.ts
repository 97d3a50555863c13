import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readMigrations, splitStatements } from './migrations.ts';

describe('migrations', () => {
  it('splits ClickHouse files into statements, dropping comment lines', () => {
    const sql =
      '-- a comment; with a semicolon\nCREATE TABLE a (x String) ENGINE = Memory;\n\nCREATE TABLE b (y String)\nENGINE = Memory;\n';
    assert.deepEqual(splitStatements(sql), [
      'CREATE TABLE a (x String) ENGINE = Memory',
      'CREATE TABLE b (y String)\nENGINE = Memory',
    ]);
  });

  it('keeps a semicolon inside a line', () => {
    assert.deepEqual(splitStatements("SELECT ';' AS s;"), ["SELECT ';' AS s"]);
  });

  it('reads files in name order with their sha256 and refuses badly named ones', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'millrace-mig-'));
    writeFileSync(path.join(dir, '0002_second.sql'), 'SELECT 2;');
    writeFileSync(path.join(dir, '0001_first.sql'), 'SELECT 1;');
    const migrations = readMigrations(dir);
    assert.deepEqual(
      migrations.map((m) => m.name),
      ['0001_first.sql', '0002_second.sql'],
    );
    assert.match(migrations[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);
    writeFileSync(path.join(dir, 'third.sql'), 'SELECT 3;');
    assert.throws(() => readMigrations(dir), /third.sql: name must look like 0001_what_it_does.sql/);
  });
});

describe('migrations folder', () => {
  it('a database without a migrations folder has nothing to apply', () => {
    assert.deepEqual(readMigrations(path.join(tmpdir(), 'millrace-no-such-folder')), []);
  });
});
