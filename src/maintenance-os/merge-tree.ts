import { execFile } from 'node:child_process';
import { chmod, chown, lstat, readdir, rename, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Moves everything under `src` into `dst`, merging directories that exist on both sides (such
 * as mount points the agent created, like /boot/efi) and replacing anything else. Renames
 * within one filesystem; a subtree that lands on another mounted filesystem (the ESP under
 * /boot/efi) is copied with `cp`, as rename cannot cross filesystems.
 */
export const mergeTree = async (src: string, dst: string): Promise<void> => {
  for (const name of await readdir(src)) {
    const from = join(src, name);
    const to = join(dst, name);
    const target = await lstat(to).catch(() => null);
    const source = await lstat(from);
    if (target?.isDirectory() && source.isDirectory()) {
      await mergeTree(from, to);
      // The directory's own metadata comes from the archive (best effort on filesystems such as vfat).
      await chown(to, source.uid, source.gid).catch(() => {});
      await chmod(to, source.mode & 0o7777).catch(() => {});
      await utimes(to, source.atime, source.mtime).catch(() => {});
      continue;
    }
    if (target) await rm(to, { recursive: true, force: true });
    try {
      await rename(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await run('cp', ['-a', '--no-target-directory', from, to]);
      await rm(from, { recursive: true, force: true });
    }
  }
};
