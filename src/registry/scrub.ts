import { createReadStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { hasher, parseDigest } from './core/digest.js';
import type { RegistryMeta } from './meta/meta.js';
import type { BlobStore } from './storage/blob-store.fs.js';
import type { KeyedLock } from './storage/keyed-lock.js';

export interface DamagedBlob {
  digest: string;
  /** What was found: the file is gone, has another size, or hashes to another digest. */
  problem: 'missing' | 'size' | 'digest';
  detail: string;
}

export interface ScrubReport {
  blobs_checked: number;
  bytes_checked: number;
  damaged: DamagedBlob[];
  /** Damaged files moved aside to `<hex>.damaged`: the blob reads as missing until a push of the same content heals it. */
  quarantined: number;
  duration_seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Re-hashes every stored blob (layers, configs, manifests) at a bounded rate, so a disk's silent
 * damage is found before a machine installs it. A damaged file is moved aside under the digest's
 * lock: reads then answer BLOB_UNKNOWN (clients fetch elsewhere or fail loudly, never install bad
 * bytes) and the next push of that content writes it anew, where before a push was skipped as
 * "already present" and the damage stayed forever.
 */
export const createScrubber = (deps: { meta: RegistryMeta; store: BlobStore; lock: KeyedLock; bytesPerSecond: number }) => {
  const { meta, store } = deps;
  let running: Promise<ScrubReport> | undefined;

  /** Hashes the file at the rate limit; resolves the digest and size read, or undefined when there is no file. */
  const hashFile = async (digest: string, budget: { bytes: number; started: number }) => {
    const d = parseDigest(digest);
    const h = hasher(d.algorithm);
    let size = 0;
    try {
      for await (const chunk of createReadStream(store.blobPath(digest), { highWaterMark: 1024 * 1024 })) {
        h.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        budget.bytes += (chunk as Buffer).length;
        const ahead = (budget.bytes / deps.bytesPerSecond) * 1000 - (performance.now() - budget.started);
        if (ahead > 5) await sleep(ahead);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return { digest: `${d.algorithm}:${h.digest('hex')}`, size };
  };

  const run = async (): Promise<ScrubReport> => {
    const started = performance.now();
    const budget = { bytes: 0, started };
    const damaged: DamagedBlob[] = [];
    let checked = 0;
    let quarantined = 0;
    for (const blob of meta.allBlobs()) {
      checked++;
      const got = await hashFile(blob.digest, budget);
      let found: DamagedBlob | undefined;
      if (!got) found = { digest: blob.digest, problem: 'missing', detail: 'no file in storage' };
      else if (got.size !== blob.size) found = { digest: blob.digest, problem: 'size', detail: `${got.size} bytes on disk, ${blob.size} recorded` };
      else if (got.digest !== blob.digest) found = { digest: blob.digest, problem: 'digest', detail: `the file hashes to ${got.digest}` };
      if (!found) continue;
      // GC may have removed it since the snapshot: that is not damage.
      if (!meta.blob(blob.digest)) continue;
      damaged.push(found);
      if (found.problem === 'missing') continue;
      await deps.lock(blob.digest, async () => {
        // Re-checked under the lock: a push may have healed it since it was read.
        const again = await hashFile(blob.digest, { bytes: 0, started: performance.now() - 1e9 });
        if (!again || (again.digest === blob.digest && again.size === blob.size)) return;
        await rename(store.blobPath(blob.digest), `${store.blobPath(blob.digest)}.damaged`);
        quarantined++;
      });
    }
    return { blobs_checked: checked, bytes_checked: budget.bytes, damaged, quarantined, duration_seconds: (performance.now() - started) / 1000 };
  };

  return {
    /** One scrub at a time; a caller during a run waits for it and gets its report. */
    run(): Promise<ScrubReport> {
      running ??= run().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
};
export type Scrubber = ReturnType<typeof createScrubber>;
