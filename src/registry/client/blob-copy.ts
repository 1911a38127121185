import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { OciClient } from './oci-client.js';
import { pushedChunks } from './pushed-chunks.js';

export interface CopyBlobOptions {
  from: OciClient;
  fromRepo: string;
  to: OciClient;
  toRepo: string;
  digest: string;
  size: number;
  /**
   * Repositories of the destination registry known to hold the blob: it is mounted from the
   * first that works instead of being copied. When both clients talk to the same registry,
   * `fromRepo` is tried first.
   */
  mountFrom?: string[];
  /** Bytes sent to the destination so far, of `size`. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface CopyBlobResult {
  /** present: the destination had it (nothing fetched); mounted: from `mountedFrom`; copied: streamed across. */
  outcome: 'present' | 'mounted' | 'copied';
  mountedFrom?: string;
}

/**
 * Copies one blob between registries without holding it in memory: nothing when the destination
 * has it (HEAD), else a cross-repository mount when one can work, else a GET from the source
 * streamed into a chunked upload. A source that drops mid-blob is resumed with Range into the
 * same upload; the bytes are checked against the digest (by the source read) before the upload is
 * finished.
 */
export const copyBlob = async (o: CopyBlobOptions): Promise<CopyBlobResult> => {
  const done = () => o.onProgress?.(o.size, o.size);
  if (await o.to.blobExists(o.toRepo, o.digest)) {
    done();
    return { outcome: 'present' };
  }
  const hints = [...(o.from.registry === o.to.registry && o.fromRepo !== o.toRepo ? [o.fromRepo] : []), ...(o.mountFrom ?? [])].filter(
    (repo, i, all) => repo !== o.toRepo && all.indexOf(repo) === i,
  );
  let uploadUrl: string | undefined;
  for (const hint of hints) {
    const mount = await o.to.mountBlob(o.toRepo, o.digest, hint).catch(() => ({ mounted: false as const, uploadUrl: undefined }));
    if (mount.mounted) {
      done();
      return { outcome: 'mounted', mountedFrom: hint };
    }
    // The registry opened an upload instead: use the last one, and leave the others to expire.
    uploadUrl = mount.uploadUrl ?? uploadUrl;
  }
  // Read push-style into one reused buffer (blobPush; over plain HTTP no allocation per socket
  // read): the upload's chunker copies each lent chunk into its PATCH buffer. Neither end of this
  // client hashes the bytes: the destination registry checks them against the digest before it
  // completes the upload (the final PUT fails with DIGEST_INVALID otherwise, and nothing is kept),
  // so one hash per hop, on the registry that keeps the blob.
  const source = pushedChunks((onData, signal) => o.from.blobPush(o.fromRepo, o.digest, o.size, onData, signal, { checkDigest: false }), o.signal);
  try {
    await o.to.uploadBlob(o.toRepo, o.digest, o.size, source, {
      hashedElsewhere: true, // by the destination, at the final PUT
      ...(uploadUrl ? { uploadUrl } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
  } finally {
    await source.return(undefined);
  }
  return { outcome: 'copied' };
};

/**
 * A readable stream of blob `digest` from `offset` (resumed with Range after drops; from 0, it
 * errors at the end if the bytes do not hash to the digest): what an archive writer reads.
 */
export const openBlob = (client: OciClient, repo: string, digest: string, o: { offset?: number; size?: number; signal?: AbortSignal } = {}): Readable =>
  client.blobStream(repo, digest, o);

/** Downloads a verified blob to `file` (written as `<file>.partial`, renamed once the digest matched). */
export const copyBlobToFile = async (
  client: OciClient,
  repo: string,
  digest: string,
  size: number,
  file: string,
  o: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<void> => {
  const partial = `${file}.partial`;
  try {
    await pipeline(client.blobStream(repo, digest, { size, ...o }), createWriteStream(partial));
    await rename(partial, file);
  } catch (err) {
    await unlink(partial).catch(() => {});
    throw err;
  }
};
