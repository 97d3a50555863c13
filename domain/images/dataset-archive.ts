/**
 * A dataset's archive (tar or zip, with archiver), streamed: the manifest first, then each image
 * read from disk only when the archive is ready for it: memory holds archiver's buffers (a few
 * MiB) whatever the dataset's size, and a slow client slows the reading (backpressure).
 */
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { TarArchive, ZipArchive, type Archiver } from 'archiver';

export const ARCHIVE_FORMATS = ['tar', 'zip'] as const;
export type ArchiveFormat = (typeof ARCHIVE_FORMATS)[number];

export const ARCHIVE_CONTENT_TYPES: Record<ArchiveFormat, string> = {
  tar: 'application/x-tar',
  zip: 'application/zip',
};

export interface ArchiveEntry {
  /** The name inside the archive. */
  name: string;
  /** The file on disk. */
  file: string;
}

/** Makes a path segment of any text: no separators, no dot-only names, nothing a shell or unzip would trip on. */
export const safeSegment = (text: string): string =>
  text.replace(/[^\p{L}\p{N} _.-]/gu, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length)) || '_';

/**
 * The archive as a stream: `manifest` (its name and text) first, then `entries` in order. Images
 * are stored, not compressed: they are compressed already. A file that cannot be read fails the
 * stream (the client sees a cut archive, never a silently shorter one).
 */
export function archiveStream(
  format: ArchiveFormat,
  manifest: { name: string; text: string },
  entries: AsyncIterable<ArchiveEntry> | Iterable<ArchiveEntry>,
): Readable {
  const archive: Archiver = format === 'zip' ? new ZipArchive({ store: true }) : new TarArchive();
  // a client gone (the stream destroyed) ends the loop below rather than leaving it waiting
  const closed = new AbortController();
  archive.once('close', () => closed.abort());
  const append = (source: Readable | string, name: string) => {
    const appended = once(archive, 'entry', { signal: closed.signal });
    archive.append(source, { name });
    return appended;
  };
  void (async () => {
    await append(manifest.text, manifest.name);
    // one file at a time: the next is opened once this one is in the archive
    for await (const entry of entries) await append(createReadStream(entry.file), entry.name);
    await archive.finalize();
  })().catch((error: Error) => {
    if (!closed.signal.aborted) archive.destroy(error);
  });
  return archive;
}
