import type { Partition } from '../recipes/recipe-normalize.js';
import { StepError } from './exec.js';

const SECTOR = 512;
const ALIGN = 2048; // sgdisk aligns partition starts on 2048 sectors (1 MiB)
const GPT_TAIL = 33; // backup partition array (32 sectors) and backup header
const MIB = 2 ** 20;

export { partitionNode as partitionDevice } from '../lib/partition-node.js';

const gib = (bytes: number) => (bytes < 2 ** 30 ? `${(bytes / MIB).toFixed(1)} MiB` : `${(bytes / 2 ** 30).toFixed(2)} GiB`);

/**
 * Checks that the layout fits a disk of `diskBytes` the way sgdisk will lay it out (1 MiB
 * aligned starts, primary GPT before, backup GPT after), before anything is written.
 * The rest-of-disk partition (size 0) must get at least 1 MiB.
 */
export const checkLayoutFits = (partitions: Partition[], diskBytes: number): void => {
  const sectors = Math.floor(diskBytes / SECTOR);
  const lastUsable = sectors - GPT_TAIL - 1;
  let next = ALIGN;
  for (const p of partitions) {
    const start = Math.ceil(next / ALIGN) * ALIGN;
    const need = p.size_bytes === 0 ? MIB / SECTOR : Math.ceil(p.size_bytes / SECTOR);
    const end = start + need - 1;
    if (end > lastUsable) {
      const wanted = partitions.reduce((sum, q) => sum + (q.size_bytes || MIB), 0);
      throw new StepError(
        `the layout does not fit the disk: partition ${p.number} (${p.label ?? p.role}, ${p.size === '0' ? 'rest of disk' : p.size}) would end at ${gib((end + 1) * SECTOR)} but the disk holds ${gib(diskBytes)} ` +
          `(the partitions need at least ${gib(wanted + 2 * MIB)} with GPT and alignment); nothing was written`,
      );
    }
    next = end + 1;
  }
};

/** sgdisk arguments creating the whole table in one call (after a zap): size, type GUID, name. */
export const sgdiskCreateArgs = (partitions: Partition[], disk: string): string[] => {
  const args: string[] = [];
  for (const p of partitions) {
    const end = p.size_bytes === 0 ? '0' : `+${Math.ceil(p.size_bytes / 1024)}K`;
    args.push('-n', `${p.number}:0:${end}`, '-t', `${p.number}:${p.type_guid}`);
    if (p.label) args.push('-c', `${p.number}:${p.label}`);
  }
  return [...args, disk];
};

/** Filesystem label limits: vfat 11 (upper case), xfs 12, ext4 16, ntfs 32, swap 15. */
const LABEL_MAX: Record<string, number> = { vfat: 11, xfs: 12, ext4: 16, ntfs: 32, swap: 15 };

export const fsLabel = (fs: string, label: string): string => {
  const max = LABEL_MAX[fs] ?? 16;
  const cut = label.slice(0, max);
  return fs === 'vfat' ? cut.toUpperCase() : cut;
};

/**
 * The mkfs command for a partition. NTFS gets the partition's start sector and a geometry
 * (`-p/-H/-S`): without them the boot sector's hidden-sectors field is 0 and Windows does not boot.
 */
export const mkfsCommand = (p: Partition, device: string, startSector: number): [string, string[]] | null => {
  const label = p.label ? fsLabel(p.format ?? '', p.label) : undefined;
  const l = (flag: string) => (label ? [flag, label] : []);
  switch (p.format) {
    case 'vfat':
      return ['mkfs.vfat', ['-F', '32', ...l('-n'), device]];
    case 'ext4':
      return ['mkfs.ext4', ['-F', '-q', ...l('-L'), device]];
    case 'xfs':
      return ['mkfs.xfs', ['-f', '-q', ...l('-L'), device]];
    case 'ntfs':
      return ['mkfs.ntfs', ['-Q', '-F', ...l('-L'), '-p', String(startSector), '-H', '255', '-S', '63', device]];
    case 'swap':
      return ['mkswap', [...l('-L'), device]];
    default:
      return null;
  }
};

/** The rows of `sgdisk -p` output: number, start and end sector, type code, name (sgdisk cuts long names). */
export const parsePartitionTable = (sgdiskPrint: string): { number: number; start: number; end: number; code: string; name: string }[] =>
  [...sgdiskPrint.matchAll(/^\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+ \S+\s+(\S+)\s*(.*)$/gm)].map((m) => ({
    number: Number(m[1]),
    start: Number(m[2]),
    end: Number(m[3]),
    code: m[4]!,
    name: m[5]!.trim(),
  }));

/** Start sectors by partition number, from `sgdisk -p` output. */
export const parseStartSectors = (sgdiskPrint: string): Map<number, number> => new Map(parsePartitionTable(sgdiskPrint).map((p) => [p.number, p.start]));
