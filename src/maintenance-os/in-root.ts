import { lstat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { StepError } from './exec.js';

/**
 * `root` joined with `rel`, after checking that no existing component of the path below `root`
 * is a symlink: the image being installed may carry symlinks such as `etc -> /etc` or
 * `boot/efi -> /`, and the agent (root, in the live system) must never write, mount or delete
 * through them. Components that do not exist yet are created fresh by the caller.
 */
export const inRoot = async (root: string, rel: string): Promise<string> => {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new StepError(`path ${rel} climbs out of the target root`);
  let cur = root;
  for (const part of parts) {
    cur = join(cur, part);
    const st = await lstat(cur).catch(() => null);
    if (!st) break;
    if (st.isSymbolicLink()) throw new StepError(`refusing to go through /${relative(root, cur)}: it is a symlink in the installed image (it could lead outside the target)`);
  }
  return join(root, ...parts);
};
