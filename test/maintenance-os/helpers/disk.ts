import { execFile, execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parsePartitionTable } from '../../../src/maintenance-os/disk.js';
import { requireAvailable, requireTool } from '../../helpers/tools.js';

export const sh = promisify(execFile);

/** Root, loop devices and the disk tools: what the agent's end-to-end tests need. */
export const canUseLoopDisks = (tools: string[]): boolean => {
  const root = requireAvailable('root (loop devices, mount)', process.getuid?.() === 0);
  const loop = root && requireAvailable('loop device support (/dev/loop-control)', existsSync('/dev/loop-control'));
  return loop && tools.every((t) => requireTool(t));
};

/** A sparse disk image attached to a loop device; `detach` unmounts, removes partition nodes and detaches. */
export const attachDisk = async (image: string, size: string) => {
  closeSync(openSync(image, 'w'));
  await sh('truncate', ['-s', size, image]);
  const dev = (await sh('losetup', ['-f', '--show', image])).stdout.trim();
  return {
    dev,
    async detach() {
      for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
        const [src, target] = line.split(' ');
        if (src?.startsWith(dev)) await sh('umount', ['-l', target!]).catch(() => {});
      }
      await sh('partx', ['-d', dev]).catch(() => {});
      await sh('losetup', ['-d', dev]).catch(() => {});
    },
  };
};

/** `sgdisk -p` rows: number, start, end (sectors), code, name (parsed as the agent does). */
export const partitionTable = (dev: string) => parsePartitionTable(execFileSync('sgdisk', ['-p', dev], { encoding: 'utf8' }));

export const blkid = (dev: string): Record<string, string> =>
  Object.fromEntries(
    execFileSync('blkid', ['-o', 'export', dev], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

/** `sgdisk -i N`: the full partition name (sgdisk -p cuts long names) and the type GUID. */
export const partitionInfo = (dev: string, n: number) => {
  const out = execFileSync('sgdisk', ['-i', String(n), dev], { encoding: 'utf8' });
  return { name: /Partition name: '(.*)'/.exec(out)?.[1], type: /Partition GUID code: (\S+)/.exec(out)?.[1] };
};

/** The GPT disk GUID (`sgdisk -p`) and the unique GUID of partition `n` (`sgdisk -i n`), as sgdisk prints them. */
export const gptIds = (dev: string, n: number) => ({
  disk: /Disk identifier \(GUID\): (\S+)/.exec(execFileSync('sgdisk', ['-p', dev], { encoding: 'utf8' }))?.[1],
  partition: /Partition unique GUID: (\S+)/.exec(execFileSync('sgdisk', ['-i', String(n), dev], { encoding: 'utf8' }))?.[1],
});
