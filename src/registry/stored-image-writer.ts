/**
 * Writes images into reef's own registry, in process (no HTTP): the release clone's LocalRegistry
 * port (src/releases/local-registry.ts), satisfied structurally so the registry knows nothing of
 * releases. Each call goes through what a push over /v2 goes through: a blob through an upload
 * session (temp file, digest verified before the commit under the digest's lock, then linked to
 * the repository, so online GC sees it as a push), a manifest through the same put (validated,
 * refused when a blob or child it names is not in the repository).
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryError } from './core/errors.js';
import type { RegistryService } from './registry-service.js';
import type { BlobStore } from './storage/blob-store.fs.js';
import type { Uploads } from './uploads.js';

/** A writer refused for want of an upload slot (REGISTRY_MAX_CONCURRENT_UPLOADS) waits its turn this long at most. */
const SLOT_WAIT_MS = 120_000;
const SLOT_RETRY_MS = 100;

const isBusy = (err: unknown) => err instanceof RegistryError && err.code === 'TOOMANYREQUESTS';

export const createStoredImageWriter = (registry: RegistryService, uploads: Uploads, store: BlobStore) => ({
  /** As HEAD answers: the blob is linked to `repo` and its file is there. */
  async blobExists(repo: string, digest: string): Promise<boolean> {
    try {
      registry.blob(repo, digest);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN') return false;
      throw err;
    }
    return (await store.size(digest)) !== undefined;
  },
  /**
   * A monolithic upload of `body`: committed only when its bytes hash to `digest`. `signal`
   * destroys the body, which cancels the upload (its temp file removed); the body is destroyed
   * whatever the outcome, so a refused write does not leave its source open.
   */
  async writeBlob(repo: string, digest: string, body: Readable, signal?: AbortSignal): Promise<void> {
    const stop = () => body.destroy(signal?.reason instanceof Error ? signal.reason : new Error('the write was aborted'));
    // The upload hears the body's error through its own listener; this one keeps an error emitted
    // while no upload listens (aborted between two attempts) from being an uncaught exception.
    body.on('error', () => {});
    signal?.addEventListener('abort', stop, { once: true });
    try {
      const giveUpAt = Date.now() + SLOT_WAIT_MS;
      for (;;) {
        signal?.throwIfAborted();
        try {
          await uploads.monolithic(repo, digest, body);
          return;
        } catch (err) {
          // Refused before a byte was read (every upload slot taken): wait for one, as a client told 429 would.
          if (!isBusy(err) || body.readableDidRead || Date.now() >= giveUpAt) throw err;
        }
        // Aborted meanwhile: the abort's own reason, not the timer's AbortError.
        await sleep(SLOT_RETRY_MS, undefined, signal ? { signal } : {}).catch(() => signal?.throwIfAborted());
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      body.destroy();
    }
  },
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<void> {
    await registry.putManifest(repo, reference, bytes, mediaType);
  },
});
