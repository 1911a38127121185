import { rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncPath, writeFileAtomic } from '../../lib/atomic-file.js';

export { syncPath };

/** Writes a small file whole or not at all, across a power cut: temp, fsync, rename, fsync the directory. */
export const writeDurable = async (path: string, data: Uint8Array | string): Promise<void> => {
  await writeFileAtomic(path, data);
  await syncPath(dirname(path));
};

/** rename + fsync of the directory. */
export const renameDurable = async (from: string, to: string): Promise<void> => {
  await rename(from, to);
  await syncPath(dirname(to));
};
