import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError } from '../../core/errors.js';
import type { TaskMedia } from '../jobs/job-service.js';
import { JOB_ID } from '../jobs/ids.js';
import { isDiskFull, writeFileAtomic } from '../../lib/atomic-file.js';

/** Task ISOs on disk: <root>/<job id>/task.iso. */
export const createTaskMediaStore = (root: string) => {
  const dirOf = (jobId: string) => {
    if (!JOB_ID.test(jobId)) throw new Error(`not a job id: ${jobId}`);
    return join(root, jobId);
  };
  const store: TaskMedia & {
    isoPath(jobId: string): string | undefined;
    listIds(): Promise<{ id: string; mtimeMs: number }[]>;
  } = {
    async write(jobId, iso) {
      const dir = dirOf(jobId);
      try {
        await mkdir(dir, { recursive: true });
        await writeFileAtomic(join(dir, 'task.iso'), iso);
      } catch (err) {
        await rm(dir, { recursive: true, force: true }).catch(() => {});
        if (isDiskFull(err)) throw new DomainError('STORAGE_FULL', `no space left to write the task ISO under ${root}; free space under the data directory`);
        throw err;
      }
    },
    async remove(jobId) {
      await rm(dirOf(jobId), { recursive: true, force: true });
    },
    isoPath: (jobId) => (JOB_ID.test(jobId) ? join(root, jobId, 'task.iso') : undefined),
    async listIds() {
      await mkdir(root, { recursive: true });
      const out: { id: string; mtimeMs: number }[] = [];
      for (const name of await readdir(root)) {
        if (!JOB_ID.test(name)) continue;
        const st = await stat(join(root, name)).catch(() => undefined);
        if (st) out.push({ id: name, mtimeMs: st.mtimeMs });
      }
      return out;
    },
  };
  return store;
};
export type TaskMediaStore = ReturnType<typeof createTaskMediaStore>;
