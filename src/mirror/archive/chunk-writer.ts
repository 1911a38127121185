/**
 * Writes one planned chunk to a file, streaming: each member's header, its bytes (from memory, the
 * blob cache or the working dir), padding, then the end blocks; fsynced before it returns. Blobs
 * cached by an earlier run (killed, resumed) are hashed again on the way, so a chunk never holds a
 * blob that does not match its digest (a bad cached copy is removed and the error names it: the
 * next run fetches it again); those this process cached and verified are not hashed twice.
 */
import { constants, createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { hasher, parseDigest } from '../../registry/core/digest.js';
import { openBulkWriter } from '../../lib/batched-writer.js';
import type { BlobCache } from './blob-cache.js';
import { MirrorArchiveError } from './errors.js';
import type { ArchiveEntry, PlannedChunk } from './plan.js';
import { END_OF_ARCHIVE, memberHeader, padding } from './tar-format.js';

export interface WrittenChunk {
  sha256: string;
  size: number;
}

/** The bytes of a file or cached blob, at most `size` (one more chunk shows it grew); `onChunk` sees each. */
const upTo = async function* (stream: AsyncIterable<unknown>, size: number, onChunk?: (b: Buffer) => void): AsyncGenerator<Buffer, number> {
  let got = 0;
  for await (const chunk of stream) {
    got += (chunk as Buffer).length;
    if (got > size) break;
    onChunk?.(chunk as Buffer);
    yield chunk as Buffer;
  }
  return got;
};

const memberBytes = async function* (e: ArchiveEntry, cache: BlobCache): AsyncGenerator<Buffer> {
  const src = e.source;
  if (src.kind === 'bytes') {
    yield src.bytes;
    return;
  }
  if (src.kind === 'file') {
    const got = yield* upTo(createReadStream(src.path, { highWaterMark: 1024 * 1024 }), e.size);
    if (got !== e.size) throw new MirrorArchiveError('WRITER_STATE', `${src.path} changed size while the archive was written (${e.size} bytes planned)`, { file: src.path });
    return;
  }
  const d = parseDigest(src.digest);
  const hash = cache.verifiedHere(src.digest) ? undefined : hasher(d.algorithm);
  const got = yield* upTo(cache.chunks(src.digest), e.size, hash ? (b) => hash.update(b) : undefined);
  const actual = hash ? `${d.algorithm}:${hash.digest('hex')}` : src.digest;
  if (got !== e.size || actual !== src.digest) {
    await cache.remove(src.digest);
    throw new MirrorArchiveError('BLOB_MISMATCH', `cached blob ${src.digest} no longer matches its digest (${actual}, ${got} bytes); removed from the cache, run again to fetch it`, { file: src.digest });
  }
};

/** A chunk file being written member by member (mirror-to-disk streams chunks while blobs still arrive). */
export interface OpenChunk {
  /** The members written so far, in order. */
  readonly entries: readonly ArchiveEntry[];
  add(e: ArchiveEntry): Promise<void>;
  /** Writes the end blocks, checks the size against the plan, fsyncs and closes. */
  end(planned: { name: string; size: number }): Promise<WrittenChunk>;
  /** Closes without ending (the file is a `.partial`, never trusted). */
  abort(): Promise<void>;
}

export const openChunk = async (file: string, mtime: number, cache: BlobCache): Promise<OpenChunk> => {
  // Members arrive as lent chunks (cached blobs) or small buffers: copied into 4 MiB writes, direct
  // where the filesystem allows it (an archive is written once and carried away: see direct-io.ts).
  const { fh, out } = await openBulkWriter(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 4 * 1024 * 1024);
  const sha = createHash('sha256');
  const entries: ArchiveEntry[] = [];
  let size = 0;
  let closed = false;
  const put = async (b: Buffer) => {
    if (b.length === 0) return;
    sha.update(b);
    size += b.length;
    await out.write(b);
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    out.release();
    await fh.close();
  };
  return {
    entries,
    async add(e: ArchiveEntry) {
      await put(memberHeader(e.path, e.size, mtime));
      for await (const b of memberBytes(e, cache)) await put(b);
      await put(Buffer.alloc(padding(e.size)));
      entries.push(e);
    },
    async end(planned) {
      try {
        await put(END_OF_ARCHIVE);
        await out.close();
        if (size !== planned.size) throw new MirrorArchiveError('WRITER_STATE', `${planned.name}: wrote ${size} bytes, planned ${planned.size}`, { file: planned.name });
        await fh.sync();
      } finally {
        await close();
      }
      return { sha256: sha.digest('hex'), size };
    },
    abort: close,
  };
};

export const writeChunk = async (file: string, chunk: PlannedChunk, mtime: number, cache: BlobCache): Promise<WrittenChunk> => {
  const c = await openChunk(file, mtime, cache);
  try {
    for (const e of chunk.entries) await c.add(e);
    return await c.end(chunk);
  } catch (err) {
    await c.abort();
    throw err;
  }
};
