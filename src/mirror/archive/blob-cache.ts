/**
 * The blob cache of an archive run, under the working dir (`.reef/blobs/<alg>/<hex>`): a blob is
 * streamed to `.reef/tmp/`, hashed and counted on the way, checked against its digest and size,
 * fsynced, then renamed into place (and the directory fsynced). A file under its digest's name is
 * therefore whole and verified, across SIGKILL and power cuts; a temp file is never trusted.
 */
import { constants, createReadStream } from 'node:fs';
import { mkdir, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { hasher, parseDigest } from '../../registry/core/digest.js';
import { openBulkWriter } from '../../lib/batched-writer.js';
import { fileChunks } from '../../lib/file-chunks.js';
import { renameDurable } from './durable.js';
import { MirrorArchiveError } from './errors.js';
import { isDigestCheckedBySource } from './image-input.js';

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
     * marked digestCheckedBySource), in 1 MiB writes; each piece is copied once, so a source may
     * lend its read buffer. On any failure nothing is left under the digest.
     */
    async put(digest: string, size: number, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
      const d = parseDigest(digest);
      const tmp = join(tmpDir, `${d.hex}.${randomBytes(6).toString('hex')}`);
      const hash = isDigestCheckedBySource(source) ? undefined : hasher(d.algorithm);
      let got = 0;
      // Direct I/O where the filesystem allows it: the blob is read back once, by the archive pass.
      const { fh, out } = await openBulkWriter(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
      try {
        for await (const chunk of source) {
          got += chunk.length;
          if (got > size) break;
          hash?.update(chunk);
          await out.write(chunk);
        }
        await out.close();
        const actual = hash ? `${d.algorithm}:${hash.digest('hex')}` : digest;
        if (got !== size || actual !== digest) {
          throw new MirrorArchiveError('BLOB_MISMATCH', `blob ${digest}: fetched ${got > size ? `more than ${size}` : got} bytes with digest ${got > size ? '(not computed)' : actual}; expected ${size} bytes`, { file: digest });
        }
        await fh.sync();
        await fh.close();
        await renameDurable(tmp, path(digest));
        verifiedHere.add(digest);
      } catch (err) {
        await fh.close().catch(() => {});
        (source as Partial<Readable>).destroy?.();
        await unlink(tmp).catch(() => {});
        throw err;
      } finally {
        out.release();
      }
    },
    /**
     * True for a blob this process put into the cache (verified on the way in, moments ago): the
     * archive need not hash it again. Blobs cached by an earlier, killed run are not.
     */
    verifiedHere: (digest: string) => verifiedHere.has(digest),
    /** The cached bytes, streamed. */
    read: (digest: string): Readable => createReadStream(path(digest), { highWaterMark: 1024 * 1024 }),
    /** The cached bytes as lent chunks (lib/file-chunks: valid until the next is asked for), read direct where possible. */
    chunks: (digest: string): AsyncGenerator<Buffer> => fileChunks(path(digest), 4 * 1024 * 1024, { direct: true }),
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

