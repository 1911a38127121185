/**
 * Sparse disk images on loop devices for the pre-staging tests (root only). Everything a test
 * attaches or mounts is undone by `detach`, which tests call in `finally`/afterAll.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmdirSync, rmSync, symlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { mustRun, run } from '../../helpers/containers.js';
import { requireAvailable, requireTool } from '../../helpers/tools.js';

export interface LoopDisk {
  file: string;
  dev: string;
  mounts: string[];
}

/** True when the tools and root needed for loop-device tests are here (see requireTool for CI). */
export const canUseLoopDevices = (): boolean =>
  ['losetup', 'sgdisk', 'partx', 'wipefs', 'blkid', 'lsblk', 'blockdev', 'mkfs.xfs', 'mkfs.ext4'].every((t) => requireTool(t)) &&
  requireAvailable('root (loop devices)', process.getuid?.() === 0);

/** Creates a sparse file of `size` (truncate syntax, e.g. 400G) and attaches it. */
export const attachDisk = async (dir: string, name: string, size: string): Promise<LoopDisk> => {
  const file = join(dir, name);
  await mustRun('truncate', ['-s', size, file]);
  const dev = (await mustRun('losetup', ['-f', '--show', file])).trim();
  // A loop device detached without `partx -d` keeps its partitions in the kernel: clear them.
  await run('partx', ['-d', dev]);
  return { file, dev, mounts: [] };
};

export const mountPartition = async (disk: LoopDisk, node: string, at: string): Promise<void> => {
  await mustRun('mkdir', ['-p', at]);
  await mustRun('mount', [node, at]);
  disk.mounts.push(at);
};

/** Unmounts one mount made by mountPartition (throws if umount fails). */
export const unmountPartition = async (disk: LoopDisk, at: string): Promise<void> => {
  await mustRun('umount', [at]);
  disk.mounts.splice(disk.mounts.lastIndexOf(at), 1);
};

const BY_PARTLABEL = '/dev/disk/by-partlabel';

/**
 * Makes the `/dev/disk/by-partlabel/<label>` link udev would make for a partition (there is no
 * udev here). Returns the link and a `remove` that deletes it and the directories if it made
 * them empty; never throws. Use a label no other test uses (the directory is machine-wide).
 */
export const linkPartlabel = (label: string, node: string): { link: string; remove: () => void } => {
  const link = join(BY_PARTLABEL, label);
  mkdirSync(BY_PARTLABEL, { recursive: true });
  symlinkSync(node, link);
  return {
    link,
    remove: () => {
      rmSync(link, { force: true });
      for (const d of [BY_PARTLABEL, '/dev/disk']) {
        try {
          rmdirSync(d);
        } catch {
          // not empty (udev or another test uses it) or already gone
        }
      }
    },
  };
};

/** Unmounts what was mounted, forgets the partitions and detaches; never throws. */
export const detachDisk = async (disk: LoopDisk | undefined): Promise<void> => {
  if (!disk) return;
  for (const m of disk.mounts.splice(0).reverse()) await run('umount', [m]);
  await run('partx', ['-d', disk.dev]);
  await run('losetup', ['-d', disk.dev]);
};

/** sha256 of the disk image's first and last MiB and of `sgdisk -p`: what "left untouched" is checked by. */
export const diskFingerprint = async (disk: LoopDisk): Promise<string> => {
  const fh = await open(disk.file, 'r');
  try {
    const { size } = await fh.stat();
    const h = createHash('sha256');
    for (const pos of [0, size - 2 ** 20]) {
      const buf = Buffer.alloc(2 ** 20);
      await fh.read(buf, 0, buf.length, pos);
      h.update(buf);
    }
    const table = await run('sgdisk', ['-p', disk.dev]);
    h.update(table.stdout.replace(/Disk identifier.*\n/, ''));
    return h.digest('hex');
  } finally {
    await fh.close();
  }
};
