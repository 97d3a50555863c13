import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cellText, copyLine, escapeCopy, UnstorableCellError } from './copy-text.ts';

/** What COPY's text format reads a cell back as (the server's rule), to check escaping round-trips. */
function readCopyCell(text: string): string | null {
  if (text === '\\N') return null;
  const named: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
  return text.replace(/\\(.)/g, (_, c: string) => named[c] ?? c);
}

const splitLine = (line: string) => {
  assert.ok(line.endsWith('\n'), 'a line ends with a newline');
  const body = line.slice(0, -1);
  assert.ok(!/[\n\r]/.test(body), 'no raw newline or carriage return inside a line');
  return body.split('\t').map(readCopyCell);
};

describe('COPY text format', () => {
  it('leaves plain text alone and escapes backslash, tab, newline and carriage return', () => {
    assert.equal(escapeCopy('JFK'), 'JFK');
    assert.equal(escapeCopy('a\\b'), 'a\\\\b');
    assert.equal(escapeCopy('a\tb'), 'a\\tb');
    assert.equal(escapeCopy('a\nb\r\n'), 'a\\nb\\r\\n');
    assert.equal(escapeCopy('\\N'), '\\\\N', 'the text \\N is not NULL');
    assert.equal(escapeCopy('\\.'), '\\\\.', 'nor the end-of-data marker');
  });

  it('hostile strings come back as they were, one line, the right number of cells', () => {
    const hostile = [
      '',
      ' ',
      '\\',
      '\\\\',
      '\t',
      '\n',
      '\r',
      '\r\n',
      '\\N',
      'NULL',
      '\\.',
      'a\\tb',
      '"quoted"',
      "it's",
      'é ☃ 😀 \u2028 \u00a0',
      '\b\f\v\u0001\u001f\u007f',
      '\t\\\n\\\r',
      'x'.repeat(10_000),
    ];
    for (const text of hostile) {
      const cells = splitLine(copyLine([text, 1, text]));
      assert.deepEqual(cells, [text, '1', text], JSON.stringify(text));
    }
  });

  it('writes NULL as \\N, and the text a query parameter carries for other cells', () => {
    assert.deepEqual(splitLine(copyLine([null, 'x', null])), [null, 'x', null]);
    assert.equal(
      copyLine([1.5, -0.1, 12345678901234567890n, true, false]),
      '1.5\t-0.1\t12345678901234567890\ttrue\tfalse\n',
    );
    assert.equal(cellText(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6))), '2026-01-02T03:04:05.006Z');
    assert.equal(
      cellText(0.1 + 0.2),
      '0.30000000000000004',
      'doubles as the shortest text that reads to the same bits',
    );
  });

  it('arrays become Postgres array literals, escaped for COPY on top', () => {
    assert.equal(cellText(['a', 'b c', null, 1, true]), '{"a","b c",NULL,"1","true"}');
    assert.equal(cellText(['say "hi"', 'back\\slash']), '{"say \\"hi\\"","back\\\\slash"}');
    assert.deepEqual(splitLine(copyLine([['tab\there', 'q"', '\\']])), ['{"tab\there","q\\"","\\\\"}']);
    assert.equal(cellText([]), '{}');
  });

  it('refuses a NUL byte (Postgres text cannot hold one) with the words Postgres uses', () => {
    for (const cells of [['a\0b'], ['ok', '\0'], [['x', 'nul\0']]]) {
      assert.throws(
        () => copyLine(cells),
        (error: unknown) =>
          error instanceof UnstorableCellError &&
          error.code === '22021' &&
          error.message === 'invalid byte sequence for encoding "UTF8": 0x00',
      );
    }
  });

  it('refuses an invalid Date instead of writing garbage', () => {
    assert.throws(() => copyLine([new Date(Number.NaN)]), UnstorableCellError);
  });
});
