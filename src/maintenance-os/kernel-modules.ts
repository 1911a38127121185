import type { Partition } from '../recipes/recipe-normalize.js';
import type { Runner } from './exec.js';

/** FAT as the ESP needs it: the filesystem and the code pages its mount options name (Debian builds them all as modules). */
export const VFAT_MODULES = ['vfat', 'nls_cp437', 'nls_ascii', 'nls_utf8'];

const MODULES_OF: Record<string, string[]> = { vfat: VFAT_MODULES, ext4: ['ext4'], xfs: ['xfs'], ntfs: ['ntfs3'] };

/** The modules a recipe's layout needs mounted: its filesystems, and FAT whenever it has an ESP. */
export const modulesForLayout = (partitions: Partition[]): string[] => {
  const names = new Set<string>();
  for (const p of partitions) {
    for (const m of MODULES_OF[p.format ?? ''] ?? []) names.add(m);
    if (p.role === 'esp') for (const m of VFAT_MODULES) names.add(m);
  }
  return [...names];
};

/**
 * Loads kernel modules before anything decides from /proc/filesystems: on a stock kernel vfat is
 * a module that nothing has loaded yet. A module that is built in, or missing, is not an error
 * here; the caller checks for what it needs and says why when it is not there.
 */
export const loadModules = async (run: Runner, names: string[]): Promise<string[]> => {
  const failed: string[] = [];
  for (const name of names) {
    try {
      await run.run('modprobe', ['-q', name]);
    } catch {
      failed.push(name);
    }
  }
  return failed;
};
