import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runner } from './exec.js';
import { ensureMounted } from './mounts.js';

/** Whether this kernel can mount FAT (the live image normally can; minimal kernels may not). */
export const kernelHasVfat = (): boolean => {
  try {
    return /\bvfat\b/.test(readFileSync('/proc/filesystems', 'utf8'));
  } catch {
    return false;
  }
};

/**
 * Copies the tree under `localDir` onto the FAT filesystem of the EFI system partition
 * `device`: through a mount when the kernel has vfat, otherwise with mtools (mcopy), which
 * writes FAT directly — so the ESP is filled the same way on any maintenance kernel.
 */
export const copyToEsp = async (run: Runner, device: string, localDir: string, mountPoint: string): Promise<string[]> => {
  const entries = run.dryRun ? ['*'] : readdirSync(localDir);
  if (entries.length === 0) return [];
  if (kernelHasVfat()) {
    await ensureMounted(run, device, mountPoint);
    await run.run('cp', ['-R', '--preserve=timestamps', '--no-target-directory', localDir, mountPoint]);
    await run.run('umount', [mountPoint]);
  } else {
    await run.run('mcopy', ['-s', '-o', '-m', '-i', device, ...entries.map((e) => join(localDir, e)), '::/']);
  }
  return entries;
};
