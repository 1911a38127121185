/**
 * The blob cache of an archive run, under the working dir (`.reef/blobs/<alg>/<hex>`): a blob is
 * streamed to `.reef/tmp/`, hashed and counted on the way, checked against its digest and size,
 * fsynced, then renamed into place (and the directory fsynced). A file under its digest's name is
 * therefore whole and verified, across SIGKILL and power cuts; a temp file is never trusted.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { hasher, parseDigest } from '../../registry/core/digest.js';
import { drainOrClose } from '../../lib/drain.js';
import { renameDurable, syncPath } from './durable.js';
import { MirrorArchiveError } from './errors.js';
import { isDigestCheckedBySource } from './image-input.js';

/** Bytes gathered into one write to a cached blob's file. */
const WRITE_BATCH = 1024 * 1024;

export const createBlobCache = async (root: string) => {
  const tmpDir = join(root, 'tmp');
  await rm(tmpDir, { recursive: true, force: true }); // a killed run's half-fetched blobs
  await mkdir(tmpDir, { recursive: true });
  await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
  await mkdir(join(root, 'blobs', 'sha512'), { recursive: true });

  const verifiedHere = new Set<string>();
  const path = (digest: string) => {
    const d = parseDigest(digest);
    return join(root, 'blobs', d.algorithm, d.hex);
  };

  return {
    path,
    /** True when the blob is cached whole (a cached file is only ever a verified one). */
    async has(digest: string, size: number): Promise<boolean> {
      const st = await stat(path(digest)).catch(() => undefined);
      return !!st?.isFile() && st.size === size;
    },
    /**
     * Streams `source` into the cache, verified (hashed here, or by the source itself when it is
     * marked digestCheckedBySource), in writes of about 1 MiB; on any failure nothing is left
     * under the digest.
     */
    async put(digest: string, size: number, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
      const d = parseDigest(digest);
      const tmp = join(tmpDir, `${d.hex}.${randomBytes(6).toString('hex')}`);
      const hash = isDigestCheckedBySource(source) ? undefined : hasher(d.algorithm);
      let got = 0;
      const out = createWriteStream(tmp, { flags: 'wx', highWaterMark: 4 * WRITE_BATCH });
      let outError: Error | undefined;
      out.on('error', (err) => (outError = err));
      // Socket reads arrive in ~64 KiB pieces: corked, they go down in one writev per WRITE_BATCH.
      let batched = 0;
      try {
        for await (const chunk of source) {
          if (outError) throw outError;
          got += chunk.length;
          if (got > size) break;
          hash?.update(chunk);
          if (batched === 0) out.cork();
          const room = out.write(chunk);
          batched += chunk.length;
          if (batched >= WRITE_BATCH || !room) {
            out.uncork();
            batched = 0;
            if (out.writableNeedDrain) await drainOrClose(out);
          }
        }
        if (batched > 0) out.uncork();
        out.end();
        await finished(out);
        const actual = hash ? `${d.algorithm}:${hash.digest('hex')}` : digest;
        if (got !== size || actual !== digest) {
          throw new MirrorArchiveError('BLOB_MISMATCH', `blob ${digest}: fetched ${got > size ? `more than ${size}` : got} bytes with digest ${got > size ? '(not computed)' : actual}; expected ${size} bytes`, { file: digest });
        }
        await syncPath(tmp);
        await renameDurable(tmp, path(digest));
        verifiedHere.add(digest);
      } catch (err) {
        out.destroy();
        (source as Partial<Readable>).destroy?.();
        await unlink(tmp).catch(() => {});
        throw err;
      }
    },
    /**
     * True for a blob this process put into the cache (verified on the way in, moments ago): the
     * archive need not hash it again. Blobs cached by an earlier, killed run are not.
     */
    verifiedHere: (digest: string) => verifiedHere.has(digest),
    /** The cached bytes, streamed. */
    read: (digest: string): Readable => createReadStream(path(digest), { highWaterMark: 1024 * 1024 }),
    remove: (digest: string) => {
      verifiedHere.delete(digest);
      return rm(path(digest), { force: true });
    },
    /** Empties the cache (after a finished run: every cached blob has been shipped). */
    clear: async () => {
      verifiedHere.clear();
      await rm(join(root, 'blobs'), { recursive: true, force: true });
      await rm(tmpDir, { recursive: true, force: true });
    },
  };
};
export type BlobCache = Awaited<ReturnType<typeof createBlobCache>>;

