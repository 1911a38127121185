import { createHash } from 'node:crypto';
import type { ImageSource } from './extract/image-source.js';

/**
 * reef's own registry as release management uses it: the clone writes the release into it, the
 * verify gate and the release reader read it back. The server fills it in process with the
 * registry's own upload and manifest machinery (src/registry/stored-images.ts, satisfied
 * structurally: the registry knows nothing of releases), so what a push over /v2 is checked for
 * holds here too, without the bytes going out and back in over loopback HTTP.
 */
export interface LocalRegistry extends ImageSource {
  /** Whether `repo` holds blob `digest` (as a HEAD answers: linked to that repository, its file on disk). */
  blobExists(repo: string, digest: string): Promise<boolean>;
  /**
   * Writes `chunks` into `repo` as blob `digest`, each chunk used up before the next is asked
   * for (so they may be lent: one buffer reused for every read). Committed only once the bytes
   * hash to `digest`; chunks that end in an error, or `signal` (checked between chunks; the
   * iterable must stop on it by itself while it waits for one), leave nothing behind.
   */
  writeBlob(repo: string, digest: string, chunks: AsyncIterable<Buffer>, signal?: AbortSignal): Promise<void>;
  /** As a manifest PUT: validated, and refused when a blob or child manifest it names is not in `repo`. */
  putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<void>;
}

/**
 * The bytes of blob `digest` of `repo`, checked on the way: the iteration throws at the end when
 * they are not `size` bytes hashing to `digest` (a blob damaged on disk since it was written).
 */
export async function* checkedBlob(local: ImageSource, repo: string, digest: string, size: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const colon = digest.indexOf(':');
  const hash = createHash(digest.slice(0, colon));
  let read = 0;
  for await (const chunk of await local.openBlob(repo, digest, signal)) {
    signal?.throwIfAborted();
    hash.update(chunk as Buffer);
    read += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  if (read !== size) throw new Error(`blob ${digest}: ${read} bytes where its descriptor gives ${size}`);
  const got = hash.digest('hex');
  if (got !== digest.slice(colon + 1)) throw new Error(`blob ${digest}: its bytes hash to ${digest.slice(0, colon)}:${got}`);
}
