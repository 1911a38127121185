import type { JobStore } from '../jobs/job-model.js';
import type { TaskMediaStore } from './media-store.fs.js';

const ORPHAN_AGE_MS = 60 * 60 * 1000;

/**
 * Removes task ISOs of jobs that finished more than `retentionMs` ago, and directories left by a
 * crash between writing an ISO and committing its job (no job row, older than an hour).
 */
export const createMediaRetention = (deps: { jobs: JobStore; media: TaskMediaStore; retentionMs: number; now: () => number }) => ({
  async sweep(): Promise<{ removed: number; orphans: number }> {
    const t = deps.now();
    const expired = deps.jobs.mediaExpired(t - deps.retentionMs);
    for (const id of expired) await deps.media.remove(id);
    deps.jobs.markMediaRemoved(expired, t);
    let orphans = 0;
    for (const { id, mtimeMs } of await deps.media.listIds()) {
      if (t - mtimeMs > ORPHAN_AGE_MS && !deps.jobs.exists(id)) {
        await deps.media.remove(id);
        orphans++;
      }
    }
    return { removed: expired.length, orphans };
  },
});
