/**
 * The text encodings files arrive in as people export them: UTF-8 with or without a BOM, UTF-16
 * (spreadsheets' "Unicode text") and Windows-1252/Latin-1. A declared charset wins; otherwise a
 * BOM, then NUL bytes at every other position (UTF-16 without BOM), then the bytes themselves
 * decide: valid UTF-8 stays UTF-8, and bytes that are not UTF-8 in a file without a single valid
 * multi-byte sequence are Windows-1252. A UTF-8 file with a few broken sequences stays UTF-8 (its
 * broken rows are refused): reading it as Windows-1252 would garble every accented character.
 */
import { Transform } from 'node:stream';

export type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';
export const ENCODINGS: readonly Encoding[] = ['utf-8', 'utf-16le', 'utf-16be', 'windows-1252'];

/** How an encoding is named in messages: "UTF-8", "UTF-16LE", "windows-1252". */
export const encodingName = (encoding: Encoding) => (encoding.startsWith('utf') ? encoding.toUpperCase() : encoding);

/**
 * The encoding a charset label names (WHATWG labels: "latin1", "iso-8859-1" and "ascii" are
 * Windows-1252, "utf-16" is UTF-16LE), or a message naming why it cannot be used.
 */
export function charsetOf(label: string): Encoding | { problem: string } {
  let encoding: string;
  try {
    encoding = new TextDecoder(label.trim()).encoding;
  } catch {
    return { problem: `unknown charset "${label}"` };
  }
  if ((ENCODINGS as readonly string[]).includes(encoding)) return encoding as Encoding;
  return { problem: `charset "${label}" is not supported; send ${ENCODINGS.join(', ')} (or iso-8859-1)` };
}

/** The charset parameter of a Content-Type, if any: `text/csv; charset=windows-1252`. */
export function charsetParameter(contentType = ''): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType)?.[1];
}

/** The encoding a byte order mark names, and its length. */
export function bomOf(head: Buffer): { encoding: Encoding; length: number } | undefined {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  // FF FE 00 00 is UTF-32LE's: not one of ours, left to the binary check
  if (head[0] === 0xff && head[1] === 0xfe && !(head[2] === 0 && head[3] === 0))
    return { encoding: 'utf-16le', length: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return undefined;
}

/**
 * UTF-16 without a BOM: text in the Latin range has a NUL in every other byte. Most odd (LE) or
 * even (BE) bytes NUL and almost none of the others tells it from a binary file, whose NULs fall
 * anywhere.
 */
export function utf16WithoutBom(head: Buffer): Encoding | undefined {
  const pairs = Math.floor(head.length / 2);
  if (pairs < 2) return undefined;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i + 1 < head.length; i += 2) {
    if (head[i] === 0) evenNul += 1;
    if (head[i + 1] === 0) oddNul += 1;
  }
  if (oddNul >= pairs * 0.7 && evenNul <= pairs * 0.02) return 'utf-16le';
  if (evenNul >= pairs * 0.7 && oddNul <= pairs * 0.02) return 'utf-16be';
  return undefined;
}

/** Where a byte is: its offset in the file and its line (1-based). */
export interface Position {
  offset: number;
  line: number;
}

/**
 * Checks bytes as UTF-8 as they stream past (the WHATWG decoder's state machine): the first
 * invalid sequence's position and whether any valid multi-byte sequence was seen.
 */
export class Utf8Scan {
  multiByte = 0;
  firstInvalid: Position | undefined;
  private offset = 0;
  private line = 1;
  private needed = 0;
  private lower = 0x80;
  private upper = 0xbf;
  private start = 0;

  push(chunk: Buffer): void {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      const at = this.offset + i;
      if (this.needed === 0) {
        if (byte < 0x80) {
          if (byte === 0x0a) this.line += 1;
          continue;
        }
        this.start = at;
        if (byte >= 0xc2 && byte <= 0xdf) this.needed = 1;
        else if (byte >= 0xe0 && byte <= 0xef) {
          this.needed = 2;
          if (byte === 0xe0) this.lower = 0xa0;
          if (byte === 0xed) this.upper = 0x9f; // surrogates are not characters
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          this.needed = 3;
          if (byte === 0xf0) this.lower = 0x90;
          if (byte === 0xf4) this.upper = 0x8f;
        } else this.invalid(at);
        continue;
      }
      if (byte < this.lower || byte > this.upper) {
        this.invalid(this.start);
        this.reset();
        i -= 1; // the byte starts afresh
        continue;
      }
      this.lower = 0x80;
      this.upper = 0xbf;
      this.needed -= 1;
      if (this.needed === 0) this.multiByte += 1;
    }
    this.offset += chunk.length;
  }

  /** The end of the file: a sequence cut short is invalid. */
  end(): void {
    if (this.needed > 0) this.invalid(this.start);
    this.reset();
  }

  private reset() {
    this.needed = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }

  private invalid(offset: number) {
    this.firstInvalid ??= { offset, line: this.line };
  }
}

/**
 * Checks bytes as UTF-16 as they stream past: the first unpaired surrogate or odd trailing byte.
 * The BOM, if any, is a character like any other here.
 */
export class Utf16Scan {
  firstInvalid: Position | undefined;
  private offset = 0;
  private line = 1;
  private carry: number | undefined;
  private highAt: number | undefined;

  constructor(private readonly bigEndian: boolean) {}

  push(chunk: Buffer): void {
    for (let i = 0; i < chunk.length; i++) {
      if (this.carry === undefined) {
        this.carry = chunk[i]!;
        continue;
      }
      const unit = this.bigEndian ? (this.carry << 8) | chunk[i]! : (chunk[i]! << 8) | this.carry;
      const at = this.offset + i - 1;
      this.carry = undefined;
      if (this.highAt !== undefined) {
        const paired = unit >= 0xdc00 && unit <= 0xdfff;
        if (!paired) this.invalid(this.highAt);
        this.highAt = undefined;
        if (paired) continue;
      }
      if (unit >= 0xd800 && unit <= 0xdbff) this.highAt = at;
      else if (unit >= 0xdc00 && unit <= 0xdfff) this.invalid(at);
      else if (unit === 0x0a) this.line += 1;
    }
    this.offset += chunk.length;
  }

  end(): void {
    if (this.highAt !== undefined) this.invalid(this.highAt);
    if (this.carry !== undefined) this.invalid(this.offset - 1);
  }

  private invalid(offset: number) {
    this.firstInvalid ??= { offset, line: this.line };
  }
}

/**
 * Bytes in `encoding` (UTF-16 or windows-1252) -> the same text in UTF-8, as they stream (a
 * character split across chunks is kept for the next). A BOM is dropped.
 *
 * Always `decode(bytes, { stream: true })`: Node 20's one-shot windows-1252 decode takes a fast
 * path that drops the bytes 0x80-0x9F (€, curly quotes) — `decode(Uint8Array.of(0x41, 0x80))` is
 * "A" — while the streaming one goes through ICU and gives "A€" (charset.test.ts checks it).
 */
export function toUtf8(encoding: Exclude<Encoding, 'utf-8'>): Transform {
  const decoder = new TextDecoder(encoding);
  return new Transform({
    transform(chunk: Buffer, _e, done) {
      done(null, Buffer.from(decoder.decode(chunk, { stream: true }), 'utf8'));
    },
    flush(done) {
      done(null, Buffer.from(decoder.decode(), 'utf8'));
    },
  });
}

/** The head of a file (its first bytes, perhaps cut mid-character) as text. */
export function decodeHead(head: Buffer, encoding: Encoding): string {
  return new TextDecoder(encoding).decode(head, { stream: true });
}
