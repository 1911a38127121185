import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { writeFileAtomic } from '../../lib/atomic-file.js';

const PARTIAL = '.tgz.partial';

/** A `.tgz` being written: `commit` fsyncs and renames it into place, `abort` deletes it. */
export interface PendingArchive {
  stream: Writable;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** The pre-cache directory (the mounted data partition): what precacheDownload reads and writes. */
export interface ArchiveDir {
  /** Names (without `.tgz`) of the archives present. */
  archives(): Promise<string[]>;
  read(name: string): Readable;
  /** Starts `<name>.tgz.partial`; only `commit` makes `<name>.tgz` appear (atomic rename). */
  create(name: string): Promise<PendingArchive>;
  remove(name: string): Promise<void>;
  /** Deletes `*.tgz.partial` left by a run that was killed; returns how many. */
  removePartials(): Promise<number>;
  /** Writes a small file atomically (temp, fsync, rename). */
  writeText(file: string, text: string): Promise<void>;
}

/** An ArchiveDir on the local file system (created if missing). */
export const createArchiveDir = async (dir: string): Promise<ArchiveDir> => {
  await mkdir(dir, { recursive: true });
  const syncDir = async () => {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  };
  return {
    async archives() {
      return (await readdir(dir)).filter((f) => f.endsWith('.tgz')).map((f) => f.slice(0, -'.tgz'.length));
    },
    read: (name) => createReadStream(join(dir, `${name}.tgz`), { highWaterMark: 64 * 1024 }),
    async create(name) {
      const tmp = join(dir, `${name}${PARTIAL}`);
      const stream = createWriteStream(tmp, { mode: 0o644, highWaterMark: 1024 * 1024 });
      await once(stream, 'open');
      return {
        stream,
        async commit() {
          // The stream has finished and closed its fd: fsync through a fresh one (same inode).
          const fh = await open(tmp, 'r+');
          try {
            await fh.sync();
          } finally {
            await fh.close();
          }
          await rename(tmp, join(dir, `${name}.tgz`));
          await syncDir();
        },
        async abort() {
          stream.destroy();
          await unlink(tmp).catch(() => {});
        },
      };
    },
    remove: (name) => unlink(join(dir, `${name}.tgz`)),
    async removePartials() {
      const stale = (await readdir(dir)).filter((f) => f.endsWith(PARTIAL));
      for (const f of stale) await unlink(join(dir, f)).catch(() => {});
      return stale.length;
    },
    writeText: (file, text) => writeFileAtomic(join(dir, file), text),
  };
};
