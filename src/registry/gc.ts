import { unlinkSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegistryMeta } from './meta/meta.js';
import type { BlobStore } from './storage/blob-store.fs.js';
import type { KeyedLock } from './storage/keyed-lock.js';
import type { Uploads } from './uploads.js';

export interface GcReport {
  dry_run: boolean;
  blobs_deleted: number;
  bytes_freed: number;
  manifests_deleted: number;
  uploads_deleted: number;
  repositories_deleted: number;
  duration_seconds: number;
}

/**
 * Online garbage collection. Marking and the removal of metadata rows happen in one SQLite
 * transaction, so a manifest PUT (also one transaction that checks its blobs) is serialised
 * with it. Files are then removed under the per-digest lock, re-checking that no upload has
 * brought the blob back in between.
 */
const REMOVE_BATCH = 512;

/** unlink, where a file already gone is fine; true when this call removed it. */
const removeFile = (path: string): boolean => {
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
};

export const createGc = (deps: { meta: RegistryMeta; store: BlobStore; lock: KeyedLock; uploads: Uploads; now: () => number; graceMs: number; uploadExpiryMs: number }) => {
  const { meta, store } = deps;
  let running: Promise<GcReport> | undefined;

  const sweepStrayFiles = async (dir: string, keep: (name: string) => boolean, before: number) => {
    let removed = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (keep(name)) continue;
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (st && st.mtimeMs <= before) {
        await rm(join(dir, name), { force: true });
        removed++;
      }
    }
    return removed;
  };

  const sweepOrphanBlobs = async (before: number, dryRun: boolean) => {
    let files = 0;
    let bytes = 0;
    for (const alg of ['sha256', 'sha512']) {
      const dir = join(store.root, 'blobs', alg);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (name.endsWith('.tmp') || !/^[0-9a-f]+$/.test(name)) continue;
        const digest = `${alg}:${name}`;
        if (meta.knowsDigest(digest)) continue;
        await deps.lock(digest, async () => {
          const st = await stat(join(dir, name)).catch(() => undefined);
          // Re-checked under the digest's lock: a push of the same content may have claimed it.
          if (!st?.isFile() || st.mtimeMs > before || meta.knowsDigest(digest)) return;
          if (!dryRun) await rm(join(dir, name), { force: true });
          files++;
          bytes += st.size;
        });
      }
    }
    return { files, bytes };
  };

  const run = async (dryRun: boolean): Promise<GcReport> => {
    const started = performance.now();
    const now = deps.now();
    const plan = meta.collect(now, deps.graceMs, deps.uploadExpiryMs, dryRun);
    const busy = new Set(deps.uploads.activeIds());
    const uploads = plan.uploads.filter((id) => !busy.has(id));
    let blobs = 0;
    let bytes = 0;
    if (dryRun) {
      blobs = plan.blobs.length;
      bytes = plan.blobs.reduce((n, b) => n + b.size, 0);
    } else {
      // Removed in batches, synchronously (a page-cache unlink takes microseconds; an await per
      // file made 55,000 removals take 9 s), handing the event loop back between batches. A digest
      // whose lock is held (an upload committing it right now) is left to the lock.
      const contended: typeof plan.blobs = [];
      for (let i = 0; i < plan.blobs.length; i += REMOVE_BATCH) {
        for (const b of plan.blobs.slice(i, i + REMOVE_BATCH)) {
          if (deps.lock.held(b.digest)) contended.push(b);
          else if (!meta.blob(b.digest) && removeFile(store.blobPath(b.digest))) {
            blobs++;
            bytes += b.size;
          }
        }
        await new Promise((r) => setImmediate(r));
      }
      for (const b of contended) {
        await deps.lock(b.digest, async () => {
          if (meta.blob(b.digest)) return; // uploaded again since the sweep: keep it
          await store.removeBlob(b.digest);
          blobs++;
          bytes += b.size;
        });
      }
      for (const id of uploads) {
        meta.deleteUpload(id);
        deps.uploads.forget(id);
        await store.removeUpload(id);
      }
      // Files no row knows about: uploads cut off by a crash before their row, temp files of
      // interrupted atomic writes.
      const cutoff = now - deps.uploadExpiryMs;
      await sweepStrayFiles(join(store.root, 'uploads'), (id) => busy.has(id) || !!meta.upload(id), cutoff);
      for (const alg of ['sha256', 'sha512']) await sweepStrayFiles(join(store.root, 'blobs', alg), (n) => !n.endsWith('.tmp'), cutoff);
    }
    // Blob and manifest files no row holds (a manifest whose rows GC removed, a crash between a
    // write and its row), once older than the grace period; counted in a dry run too.
    const orphans = await sweepOrphanBlobs(now - deps.graceMs, dryRun);
    blobs += orphans.files;
    bytes += orphans.bytes;
    return {
      dry_run: dryRun,
      blobs_deleted: blobs,
      bytes_freed: bytes,
      manifests_deleted: plan.manifests,
      uploads_deleted: uploads.length,
      repositories_deleted: plan.repositories,
      duration_seconds: (performance.now() - started) / 1000,
    };
  };

  return {
    /** One GC at a time; a second caller waits for the running one and then runs its own. */
    async run(dryRun = false): Promise<GcReport> {
      while (running) await running.catch(() => {});
      running = run(dryRun);
      try {
        return await running;
      } finally {
        running = undefined;
      }
    },
  };
};
export type Gc = ReturnType<typeof createGc>;
