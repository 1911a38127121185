import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsync of a file or directory: a rename is durable once its directory is synced. */
export const syncPath = async (path: string): Promise<void> => {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
};

/** Writes a small file whole or not at all, across a power cut: temp, fsync, rename, fsync the directory. */
export const writeDurable = async (path: string, data: Uint8Array | string): Promise<void> => {
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
    throw err;
  }
  await syncPath(dirname(path));
};

/** rename + fsync of the directory. */
export const renameDurable = async (from: string, to: string): Promise<void> => {
  await rename(from, to);
  await syncPath(dirname(to));
};
