import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { isDiskFull, writeFileAtomic } from '../../lib/atomic-file.js';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseDigest } from '../core/digest.js';
import { RegistryError } from '../core/errors.js';
import { writeChunksAt } from './chunk-writer.js';
import { UploadWriteError, writeBodyAt } from './upload-writer.js';
import { syncPath } from '../../lib/atomic-file.js';

const storageFull = () => new RegistryError('STORAGE_FULL', 'no space left on the registry storage; nothing partial was kept');

export interface IndexEntry {
  repo: string;
  tag: string;
  digest: string;
  mediaType: string;
  size: number;
}

/**
 * Content-addressed blobs on disk, laid out as an OCI image layout (oci-layout, index.json,
 * blobs/<alg>/<hex>), plus upload temp files under uploads/. Writes are temp → fsync → rename.
 */
export const createBlobStore = async (root: string) => {
  await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
  await mkdir(join(root, 'blobs', 'sha512'), { recursive: true });
  await mkdir(join(root, 'uploads'), { recursive: true });
  await writeFile(join(root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n');
  const indexFile = join(root, 'index.json');
  await stat(indexFile).catch(() => writeFile(indexFile, '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}\n'));

  const blobPath = (digest: string) => {
    const d = parseDigest(digest);
    return join(root, 'blobs', d.algorithm, d.hex);
  };
  const uploadPath = (id: string) => join(root, 'uploads', id);

  /** Runs one append; a failed write may have left part of a chunk: the file is cut back to what is known good. */
  const appending = async (id: string, write: () => Promise<number>): Promise<number> => {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof UploadWriteError)) throw err;
      const cut = await open(uploadPath(id), 'r+').catch(() => undefined);
      await cut?.truncate(err.end).catch(() => {});
      await cut?.close();
      throw isDiskFull(err.cause) ? storageFull() : err.cause;
    }
  };

  const atomicWrite = async (path: string, bytes: Uint8Array | string) => {
    try {
      await writeFileAtomic(path, bytes);
    } catch (err) {
      throw isDiskFull(err) ? storageFull() : err;
    }
  };

  return {
    root,
    blobPath,
    uploadPath,
    async size(digest: string): Promise<number | undefined> {
      const st = await stat(blobPath(digest)).catch(() => undefined);
      return st?.isFile() ? st.size : undefined;
    },
    read: (digest: string, start?: number, end?: number): ReadStream =>
      createReadStream(blobPath(digest), { start, end, highWaterMark: 1024 * 1024 }),
    readAll: (digest: string) => readFile(blobPath(digest)),
    writeBlob: (digest: string, bytes: Uint8Array) => atomicWrite(blobPath(digest), bytes),
    /**
     * Moves a verified upload file into place: fsync the file, rename, fsync the directory, so a
     * blob the database links survives a power cut. An existing blob wins (dedup): the upload is
     * then dropped without being flushed, since its bytes are already on disk under that digest.
     */
    async commitUpload(id: string, digest: string): Promise<void> {
      const src = uploadPath(id);
      const dst = blobPath(digest);
      if (await stat(dst).catch(() => undefined)) {
        await unlink(src).catch(() => {});
        return;
      }
      await syncPath(src);
      await rename(src, dst);
      await syncPath(dirname(dst));
    },
    async createUpload(id: string): Promise<void> {
      await writeFile(uploadPath(id), '', { flag: 'wx' });
    },
    async uploadSize(id: string): Promise<number | undefined> {
      const st = await stat(uploadPath(id)).catch(() => undefined);
      return st?.size;
    },
    /**
     * Appends a stream to an upload file at `offset`. On failure the file keeps exactly the bytes
     * that reached it (so a client can resume from GET status) and the error is rethrown.
     */
    appendUpload: (id: string, offset: number, body: Readable, tap: (chunk: Buffer) => void): Promise<number> =>
      appending(id, async () => (await writeBodyAt(uploadPath(id), offset, body, tap)).end),
    /** appendUpload for an in-process body: each chunk written before the next is asked for (so it may be a lent buffer). */
    appendChunks: (id: string, offset: number, chunks: AsyncIterable<Buffer>, tap: (chunk: Buffer) => void): Promise<number> =>
      appending(id, () => writeChunksAt(uploadPath(id), offset, chunks, tap)),
    /** Cuts an upload file back to `size` bytes (a refused chunk keeps none of its bytes). */
    async truncateUpload(id: string, size: number): Promise<void> {
      const fh = await open(uploadPath(id), 'r+').catch(() => undefined);
      if (!fh) return;
      try {
        await fh.truncate(size);
      } finally {
        await fh.close();
      }
    },
    removeUpload: (id: string) => rm(uploadPath(id), { force: true }),
    removeBlob: (digest: string) => rm(blobPath(digest), { force: true }),
    /** Rewrites index.json so every tag is reachable offline as `repo:tag`. */
    async writeIndex(entries: IndexEntry[]): Promise<void> {
      const manifests = entries.map((e) => ({
        mediaType: e.mediaType,
        digest: e.digest,
        size: e.size,
        annotations: { 'org.opencontainers.image.ref.name': `${e.repo}:${e.tag}` },
      }));
      await atomicWrite(indexFile, `${JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }, null, 1)}\n`);
    },
  };
};
export type BlobStore = Awaited<ReturnType<typeof createBlobStore>>;
