import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { HEAD_BYTES, spoolBody } from './spool.ts';
import { UploadError } from './upload-error.ts';

const bodyOf = (...chunks: (string | Buffer)[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      controller.close();
    },
  });
const fileIn = () => path.join(mkdtempSync(path.join(tmpdir(), 'millrace-spool-')), 'job', 'file');

class OtherError extends UploadError {}

describe('spoolBody', () => {
  it('writes the body and returns its size and head', async () => {
    const file = fileIn();
    assert.deepEqual(await spoolBody(bodyOf('a,b\n', '1,2\n'), file, { maxBytes: 100 }), {
      bytes: 8,
      encoding: 'utf-8',
      head: 'a,b\n1,2\n',
    });
    assert.equal(readFileSync(file, 'utf8'), 'a,b\n1,2\n');
  });

  it('refuses past the cap (413), binary (415) and empty (400), with the given error class, and removes the folder', async () => {
    for (const [body, status] of [
      [bodyOf('x'.repeat(11)), 413],
      [bodyOf('a\0b'), 415],
      [bodyOf('\uFEFF  \n'), 400],
    ] as const) {
      const file = fileIn();
      await assert.rejects(
        spoolBody(body, file, { maxBytes: 10, Refusal: OtherError }),
        (e: unknown) => e instanceof OtherError && e.status === status,
      );
      assert.equal(existsSync(path.dirname(file)), false);
    }
  });

  it('tells the encoding from all the bytes, or takes the declared one and refuses bytes invalid in it by position', async () => {
    const latin1Deep = bodyOf('sku,title\n', 'a,tea\n'.repeat(HEAD_BYTES / 4), Buffer.from('b,Caf\xe9\n', 'latin1'));
    assert.equal((await spoolBody(latin1Deep, fileIn(), { maxBytes: HEAD_BYTES * 4 })).encoding, 'windows-1252');
    // a UTF-8 file with one broken byte stays UTF-8: its row is refused, the others keep their accents
    const mostlyUtf8 = bodyOf('sku,title\na,Café\n', Buffer.from('b,Caf\xe9\n', 'latin1'));
    assert.equal((await spoolBody(mostlyUtf8, fileIn(), { maxBytes: 100 })).encoding, 'utf-8');
    const excel = bodyOf(Buffer.from('fffe', 'hex'), Buffer.from('sku\ttitle\r\na\tCafé\r\n', 'utf16le'));
    assert.deepEqual(await spoolBody(excel, fileIn(), { maxBytes: 100 }), {
      bytes: 40,
      encoding: 'utf-16le',
      head: 'sku\ttitle\r\na\tCafé\r\n',
    });
    const file = fileIn();
    await assert.rejects(
      spoolBody(bodyOf('sku,title\n', Buffer.from('a,Caf\xe9\n', 'latin1')), file, {
        maxBytes: 100,
        declared: 'utf-8',
      }),
      (e: unknown) =>
        e instanceof UploadError &&
        e.status === 400 &&
        e.field === 'charset' &&
        e.message === 'the file is not valid UTF-8, as declared: line 2, byte offset 15',
    );
    assert.equal(existsSync(path.dirname(file)), false);
    await assert.rejects(
      spoolBody(bodyOf(Buffer.from('fffe00007300', 'hex')), fileIn(), { maxBytes: 100 }),
      (e: unknown) => e instanceof UploadError && e.status === 415,
      'UTF-32 is not ours: binary',
    );
  });

  it('sniffs only the first HEAD_BYTES, however the body is chunked', async () => {
    const tail = Buffer.concat([Buffer.from('x'), Buffer.alloc(1)]);
    const { bytes } = await spoolBody(bodyOf('a'.repeat(HEAD_BYTES - 1), tail), fileIn(), { maxBytes: HEAD_BYTES * 2 });
    assert.equal(bytes, HEAD_BYTES + 1);
  });
});
