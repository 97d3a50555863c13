import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IMAGE_RESULTS, generateImage, resultBytes } from '../../connectors/sources/fixture-site/images.ts';
import { decodeImage } from '../../processors/images/decode.ts';
import { dHash, hammingDistance, hexOf, toSigned64 } from '../../domain/images/dhash.ts';
import { judgeBytes } from '../../processors/images/index.ts';
import { extensionOf, sniffImageFormat } from '../../domain/images/image-format.ts';

const image = (encoding: 'png' | 'jpeg' | 'gif' | 'webp') =>
  generateImage('sniff', { pattern: 1, width: 40, height: 30, encoding });

describe('image format sniffing', () => {
  it('knows png, jpeg, gif and webp by their magic bytes, whatever the file is called', async () => {
    for (const format of ['png', 'jpeg', 'gif', 'webp'] as const)
      assert.equal(sniffImageFormat(await image(format)), format);
    assert.equal(sniffImageFormat(Buffer.from('GIF87a\x01\x00\x01\x00')), 'gif');
    assert.equal(extensionOf('jpeg'), 'jpg');
  });

  it('refuses what only looks close: html, bmp, a RIFF that is no WEBP, too few bytes, nothing', () => {
    assert.equal(sniffImageFormat(Buffer.from('<!doctype html><p>hi</p>')), null);
    assert.equal(sniffImageFormat(Buffer.from('BM6\x00\x00\x00\x00\x00')), null);
    assert.equal(sniffImageFormat(Buffer.from('RIFF\x10\x00\x00\x00WAVEfmt ')), null);
    assert.equal(sniffImageFormat(Buffer.from([0x89, 0x50, 0x4e, 0x47])), null); // half a PNG signature
    assert.equal(sniffImageFormat(Buffer.from([0xff, 0xd8])), null);
    assert.equal(sniffImageFormat(Buffer.alloc(0)), null);
  });
});

describe('dHash and Hamming distance', () => {
  it('sets a bit where a pixel is brighter than its right neighbour, row by row, first bit highest', () => {
    const falling = Array.from({ length: 72 }, (_, i) => 255 - (i % 9) * 10); // every pixel brighter than the next
    assert.equal(hexOf(dHash(falling)), 'ffffffffffffffff');
    const rising = Array.from({ length: 72 }, (_, i) => (i % 9) * 10);
    assert.equal(hexOf(dHash(rising)), '0000000000000000');
    const firstOnly = Array.from({ length: 72 }, (_, i) => (i === 0 ? 200 : 100));
    assert.equal(hexOf(dHash(firstOnly)), '8000000000000000');
    assert.throws(() => dHash([1, 2, 3]), RangeError);
  });

  it('counts differing bits, symmetric, zero only for equal hashes, at most 64', () => {
    assert.equal(hammingDistance(0n, 0xffffffffffffffffn), 64);
    assert.equal(hammingDistance(0b1011n, 0b0001n), 2);
    const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    fc.assert(
      fc.property(u64, u64, (a, b) => {
        const d = hammingDistance(a, b);
        assert.equal(d, hammingDistance(b, a));
        assert.equal(d === 0, a === b);
        assert.equal(d, [...(a ^ b).toString(2)].filter((c) => c === '1').length);
      }),
    );
  });

  it('round-trips through Postgres bigint (signed) without losing bits', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (h) =>
        assert.equal(BigInt.asUintN(64, BigInt(toSigned64(h))), h),
      ),
    );
  });

  it('a resized copy is a near-duplicate (<= 6 bits); different pictures are far apart', async () => {
    const hashOf = async (n: number, term = 'zebra') => (await decodeImage((await resultBytes(term, n))!)).dhash;
    assert.ok(hammingDistance(await hashOf(0), await hashOf(6)) <= 6, 'result 6 is result 0 resized');
    const distinct = [0, 1, 2, 3, 8, 11];
    const hashes = [
      ...(await Promise.all(distinct.map((n) => hashOf(n)))),
      ...(await Promise.all(distinct.map((n) => hashOf(n, 'zebras')))),
    ];
    for (let i = 0; i < hashes.length; i++)
      for (let j = i + 1; j < hashes.length; j++)
        assert.ok(hammingDistance(hashes[i]!, hashes[j]!) > 6, `pictures ${i} and ${j} are distinct`);
  });
});

describe('judging downloaded bytes (fixture images)', () => {
  const settings = { min_width: 32, min_height: 32, formats: ['png', 'jpeg', 'webp'] };
  it('judges each fixture result as the fixture says, by its bytes (duplicates aside)', async () => {
    for (const [n, result] of IMAGE_RESULTS.entries()) {
      const bytes = await resultBytes('zebra', n);
      if (!bytes) {
        assert.equal(result.expect.reason, 'download_failed');
        continue;
      }
      const judged = await judgeBytes(settings, bytes, result.contentType);
      const expected = result.expect.verdict === 'duplicate' ? 'accepted' : result.expect.verdict; // duplicates are the store's call
      assert.equal(judged.verdict, expected, `result ${n}`);
      if (judged.verdict === 'rejected')
        assert.equal(judged.reason, result.expect.reason, `result ${n}: ${judged.detail}`);
      else if (result.expect.format) assert.equal(judged.format, result.expect.format, `result ${n}`);
    }
  });

  it('reads the dimensions from the bytes and applies both minimums', async () => {
    const bytes = await generateImage('dims', { pattern: 0, width: 50, height: 20, encoding: 'png' });
    const judged = await judgeBytes({ min_width: 10, min_height: 10, formats: ['png'] }, bytes, 'image/png');
    assert.deepEqual(
      judged.verdict === 'accepted' && [judged.width, judged.height, judged.sha256.length],
      [50, 20, 64],
    );
    const tall = await judgeBytes({ min_width: 10, min_height: 21, formats: ['png'] }, bytes, 'image/png');
    assert.deepEqual(tall.verdict === 'rejected' && [tall.reason, tall.width, tall.height], ['too_small', 50, 20]);
  });
});
