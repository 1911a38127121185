/**
 * Which member goes in which chunk. oc-mirror's rule (its permissive adder): members in write
 * order fill the open chunk; one that would take the chunk past archiveSize starts the next
 * chunk; one larger than archiveSize on its own gets a chunk of its own (the next number) and a
 * warning, and the open chunk goes on. reef counts what a chunk file really holds (headers,
 * padding, the end blocks), so every chunk file is at most archiveSize bytes unless it holds one
 * oversized member; oc-mirror counts file contents only.
 */
import { createHash } from 'node:crypto';
import { chunkName } from './layout.js';
import { END_OF_ARCHIVE, memberSize } from './tar-format.js';

export type EntrySource = { kind: 'bytes'; bytes: Buffer } | { kind: 'blob'; digest: string } | { kind: 'file'; path: string };

export interface ArchiveEntry {
  /** The member's path in the tar. */
  path: string;
  size: number;
  source: EntrySource;
}

export interface PlannedChunk {
  name: string;
  entries: ArchiveEntry[];
  /** The chunk file's size in bytes. */
  size: number;
  /** Holds one member larger than archiveSize. */
  oversized: boolean;
  /** Hash of what the chunk holds (paths, sizes, blob digests, small files' bytes): a chunk from an earlier attempt is kept only when it matches. */
  fingerprint: string;
}

/** What a member's bytes are (a blob digest, a hash of inline bytes, a file path): its identity in a plan. */
export const sourceId = (s: EntrySource): string =>
  s.kind === 'blob' ? s.digest : s.kind === 'bytes' ? `bytes:${createHash('sha256').update(s.bytes).digest('hex')}` : `file:${s.path}`;

const fingerprint = (entries: ArchiveEntry[]): string => {
  const h = createHash('sha256');
  for (const e of entries) h.update(`${e.path}\0${e.size}\0${sourceId(e.source)}\n`);
  return h.digest('hex');
};

export const planChunks = (entries: ArchiveEntry[], archiveSizeBytes: number): PlannedChunk[] => {
  const chunks = new Map<number, { entries: ArchiveEntry[]; size: number; oversized: boolean }>();
  let open = 1;
  let last = 1;
  chunks.set(1, { entries: [], size: END_OF_ARCHIVE.length, oversized: false });
  for (const e of entries) {
    const m = memberSize(e.path, e.size);
    if (m + END_OF_ARCHIVE.length > archiveSizeBytes) {
      last += 1;
      chunks.set(last, { entries: [e], size: m + END_OF_ARCHIVE.length, oversized: true });
      continue;
    }
    let current = chunks.get(open)!;
    if (current.entries.length > 0 && current.size + m > archiveSizeBytes) {
      last += 1;
      open = last;
      current = { entries: [], size: END_OF_ARCHIVE.length, oversized: false };
      chunks.set(open, current);
    }
    current.entries.push(e);
    current.size += m;
  }
  return [...chunks.entries()]
    .sort(([a], [b]) => a - b)
    .map(([n, c]) => ({ name: chunkName(n), entries: c.entries, size: c.size, oversized: c.oversized, fingerprint: fingerprint(c.entries) }));
};
