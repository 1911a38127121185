/**
 * Writes images into reef's own registry, in process (no HTTP): the release clone's LocalRegistry
 * port (src/releases/local-registry.ts), satisfied structurally so the registry knows nothing of
 * releases. Each call goes through what a push over /v2 goes through: a blob through an upload
 * session (temp file, digest verified before the commit under the digest's lock, then linked to
 * the repository, so online GC sees it as a push), a manifest through the same put (validated,
 * refused when a blob or child it names is not in the repository).
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryError } from './core/errors.js';
import type { RegistryService } from './registry-service.js';
import type { BlobStore } from './storage/blob-store.fs.js';
import type { Uploads } from './uploads.js';

/** A writer refused for want of an upload slot (REGISTRY_MAX_CONCURRENT_UPLOADS) waits its turn this long at most. */
const SLOT_WAIT_MS = 120_000;
const SLOT_RETRY_MS = 100;

const isBusy = (err: unknown) => err instanceof RegistryError && err.code === 'TOOMANYREQUESTS';

/** Runs `write`; refused before it read a byte because every upload slot is taken, waits for one and tries again, as a client told 429 would. */
const writeWhenSlotFree = async (write: () => Promise<unknown>, started: () => boolean, signal: AbortSignal | undefined): Promise<void> => {
  const giveUpAt = Date.now() + SLOT_WAIT_MS;
  for (;;) {
    signal?.throwIfAborted();
    try {
      await write();
      return;
    } catch (err) {
      if (!isBusy(err) || started() || Date.now() >= giveUpAt) throw err;
    }
    // Aborted meanwhile: the abort's own reason, not the timer's AbortError.
    await sleep(SLOT_RETRY_MS, undefined, signal ? { signal } : {}).catch(() => signal?.throwIfAborted());
  }
};

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
   * A monolithic upload of `body`: committed only when its bytes hash to `digest`. A stream is
   * destroyed by `signal` (which cancels the upload, its temp file removed) and whatever the
   * outcome, so a refused write does not leave its source open. Any other iterable is written
   * chunk by chunk, each before the next is asked for (its chunks may be lent buffers); `signal`
   * is checked between chunks, and the iterable must stop on it by itself while it waits for one.
   */
  async writeBlob(repo: string, digest: string, body: Readable | AsyncIterable<Buffer>, signal?: AbortSignal): Promise<void> {
    if (!(body instanceof Readable)) {
      let started = false;
      const chunks = (async function* () {
        started = true;
        for await (const chunk of body) {
          signal?.throwIfAborted();
          yield chunk;
        }
      })();
      return writeWhenSlotFree(() => uploads.monolithic(repo, digest, chunks), () => started, signal);
    }
    const stop = () => body.destroy(signal?.reason instanceof Error ? signal.reason : new Error('the write was aborted'));
    // The upload hears the body's error through its own listener; this one keeps an error emitted
    // while no upload listens (aborted between two attempts) from being an uncaught exception.
    body.on('error', () => {});
    signal?.addEventListener('abort', stop, { once: true });
    try {
      await writeWhenSlotFree(() => uploads.monolithic(repo, digest, body), () => body.readableDidRead, signal);
    } finally {
      signal?.removeEventListener('abort', stop);
      body.destroy();
    }
  },
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<void> {
    await registry.putManifest(repo, reference, bytes, mediaType);
  },
});
