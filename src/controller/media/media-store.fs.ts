import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError } from '../errors.js';
import type { TaskMedia } from '../jobs/job-service.js';
import { JOB_ID } from '../jobs/ids.js';

const diskFull = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
};

/**
 * Writes `data` to `path` atomically: a temp file beside it, fsync, rename. On a full disk the
 * temp file is removed and a STORAGE_FULL error names the directory.
 */
export const writeFileAtomic = async (path: string, data: Uint8Array): Promise<void> => {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    if (diskFull(err)) throw new DomainError('STORAGE_FULL', `no space left to write ${path}; free space under the data directory`);
    throw err;
  }
};

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
        if (diskFull(err)) throw new DomainError('STORAGE_FULL', `no space left to write the task ISO under ${root}; free space under the data directory`);
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
