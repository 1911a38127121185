import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';

/**
 * True for "no space left" errors: the file system's (and quota's), and SQLite's SQLITE_FULL
 * (its file could not grow). Callers turn these into their storage-full error.
 */
export const isDiskFull = (err: unknown): boolean => ['ENOSPC', 'EDQUOT', 'SQLITE_FULL'].includes((err as NodeJS.ErrnoException)?.code ?? '');

/**
 * Writes `data` to `path` atomically: a temp file beside it, fsync, rename. On failure the temp
 * file is removed and the original error is rethrown. With `mode` the file gets exactly that
 * mode (set on the temp file before any byte is written, whatever the umask): 0o600 for keys.
 */
export const writeFileAtomic = async (path: string, data: Uint8Array | string, opts: { mode?: number } = {}): Promise<void> => {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fh = await open(tmp, 'wx', opts.mode ?? 0o644);
    try {
      if (opts.mode !== undefined) await fh.chmod(opts.mode);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
};

/** fsync of a file or a directory: a rename is durable once its directory is synced. */
export const syncPath = async (path: string): Promise<void> => {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
};
