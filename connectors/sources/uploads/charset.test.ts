import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bomOf,
  charsetOf,
  charsetParameter,
  decodeHead,
  toUtf8,
  Utf16Scan,
  Utf8Scan,
  utf16WithoutBom,
} from './charset.ts';

const scanned = <S extends Utf8Scan | Utf16Scan>(scan: S, ...chunks: Buffer[]): S => {
  for (const chunk of chunks) scan.push(chunk);
  scan.end();
  return scan;
};

describe('charset', () => {
  it('names the encoding of a label, refusing unknown and unsupported ones by name', () => {
    assert.equal(charsetOf('UTF-8'), 'utf-8');
    assert.equal(charsetOf('latin1'), 'windows-1252');
    assert.equal(charsetOf('ISO-8859-1'), 'windows-1252');
    assert.equal(charsetOf('utf-16'), 'utf-16le');
    assert.deepEqual(charsetOf('klingon'), { problem: 'unknown charset "klingon"' });
    assert.match((charsetOf('shift_jis') as { problem: string }).problem, /charset "shift_jis" is not supported/);
    assert.equal(charsetParameter('text/csv; charset="windows-1252"'), 'windows-1252');
    assert.equal(charsetParameter('text/csv'), undefined);
  });

  it('tells UTF-16 by its BOM or its NUL bytes, not UTF-32 nor binary', () => {
    assert.deepEqual(bomOf(Buffer.from('fffe7300', 'hex')), { encoding: 'utf-16le', length: 2 });
    assert.deepEqual(bomOf(Buffer.from('feff0073', 'hex')), { encoding: 'utf-16be', length: 2 });
    assert.deepEqual(bomOf(Buffer.from('efbbbf61', 'hex')), { encoding: 'utf-8', length: 3 });
    assert.equal(bomOf(Buffer.from('fffe0000', 'hex')), undefined);
    assert.equal(utf16WithoutBom(Buffer.from('sku\ttitle\r\n', 'utf16le')), 'utf-16le');
    assert.equal(utf16WithoutBom(Buffer.from('sku\ttitle\r\n', 'utf16le').swap16()), 'utf-16be');
    assert.equal(utf16WithoutBom(Buffer.from('1f8b0800000000000003', 'hex')), undefined);
  });

  it('finds the first invalid UTF-8 sequence by line and offset, across chunks', () => {
    const ok = scanned(new Utf8Scan(), Buffer.from('a,Caf'), Buffer.from([0xc3]), Buffer.from([0xa9, 0x0a]));
    assert.deepEqual([ok.multiByte, ok.firstInvalid], [1, undefined]);
    const latin1 = scanned(new Utf8Scan(), Buffer.from('sku,title\na,Caf\xe9\n', 'latin1'));
    assert.deepEqual([latin1.multiByte, latin1.firstInvalid], [0, { offset: 15, line: 2 }]);
    for (const hex of ['c0af', 'eda080', 'e282', 'f4908080', '80'])
      assert.ok(scanned(new Utf8Scan(), Buffer.from(hex, 'hex')).firstInvalid, hex);
  });

  it('finds unpaired surrogates and a trailing odd byte in UTF-16', () => {
    assert.equal(scanned(new Utf16Scan(false), Buffer.from('a😀b\n', 'utf16le')).firstInvalid, undefined);
    assert.deepEqual(
      scanned(new Utf16Scan(false), Buffer.from('61000a003dd8', 'hex'), Buffer.from('6100', 'hex')).firstInvalid,
      {
        offset: 4,
        line: 2,
      },
    );
    assert.deepEqual(scanned(new Utf16Scan(true), Buffer.from('006100', 'hex')).firstInvalid, { offset: 2, line: 1 });
  });

  it('decodes as it streams, a character split between chunks included', async () => {
    const out: Buffer[] = [];
    const stream = toUtf8('utf-16le');
    stream.on('data', (b: Buffer) => out.push(b));
    const bytes = Buffer.concat([Buffer.from('fffe', 'hex'), Buffer.from('Café\t€\n', 'utf16le')]);
    stream.write(bytes.subarray(0, 7));
    stream.end(bytes.subarray(7));
    await new Promise((r) => stream.on('end', r));
    assert.equal(Buffer.concat(out).toString('utf8'), 'Café\t€\n');
    const cp1252 = toUtf8('windows-1252');
    cp1252.end(Buffer.from([0x93, 0x43, 0x61, 0x66, 0xe9, 0x94, 0x80])); // 0x80-0x9F: see toUtf8 on Node 20
    assert.equal((cp1252.read() as Buffer).toString('utf8'), '“Café”€');
    assert.equal(decodeHead(Buffer.from([0x41, 0x80]), 'windows-1252'), 'A€');
  });
});
