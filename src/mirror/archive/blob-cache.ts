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

export const createBlobCache = async (root: string) => {
  const tmpDir = join(root, 'tmp');
  await rm(tmpDir, { recursive: true, force: true }); // a killed run's half-fetched blobs
  await mkdir(tmpDir, { recursive: true });
  await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
  await mkdir(join(root, 'blobs', 'sha512'), { recursive: true });

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
    /** Streams `source` into the cache, verified; on any failure nothing is left under the digest. */
    async put(digest: string, size: number, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
      const d = parseDigest(digest);
      const tmp = join(tmpDir, `${d.hex}.${randomBytes(6).toString('hex')}`);
      const hash = hasher(d.algorithm);
      let got = 0;
      const out = createWriteStream(tmp, { flags: 'wx' });
      let outError: Error | undefined;
      out.on('error', (err) => (outError = err));
      try {
        for await (const chunk of source) {
          if (outError) throw outError;
          got += chunk.length;
          if (got > size) break;
          hash.update(chunk);
          if (!out.write(chunk)) await drainOrClose(out);
        }
        out.end();
        await finished(out);
        const actual = `${d.algorithm}:${hash.digest('hex')}`;
        if (got !== size || actual !== digest) {
          throw new MirrorArchiveError('BLOB_MISMATCH', `blob ${digest}: fetched ${got > size ? `more than ${size}` : got} bytes with digest ${got > size ? '(not computed)' : actual}; expected ${size} bytes`, { file: digest });
        }
        await syncPath(tmp);
        await renameDurable(tmp, path(digest));
      } catch (err) {
        out.destroy();
        (source as Partial<Readable>).destroy?.();
        await unlink(tmp).catch(() => {});
        throw err;
      }
    },
    /** The cached bytes, streamed. */
    read: (digest: string): Readable => createReadStream(path(digest), { highWaterMark: 1024 * 1024 }),
    remove: (digest: string) => rm(path(digest), { force: true }),
    /** Empties the cache (after a finished run: every cached blob has been shipped). */
    clear: async () => {
      await rm(join(root, 'blobs'), { recursive: true, force: true });
      await rm(tmpDir, { recursive: true, force: true });
    },
  };
};
export type BlobCache = Awaited<ReturnType<typeof createBlobCache>>;

