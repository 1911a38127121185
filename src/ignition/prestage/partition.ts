import { partitionNode } from '../../lib/partition-node.js';
import { DiskRefusedError, PrestageInputError } from './errors.js';
import { formatBytes, sgdiskSize } from './sizes.js';

export type Filesystem = 'xfs' | 'ext4';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one command (argv, no shell) and resolves with its exit code and output; never rejects on a non-zero exit. */
export type Runner = (cmd: string, args: string[]) => Promise<CommandResult>;

export interface PartitionOptions {
  /** The whole disk: /dev/sdb, /dev/nvme0n1, /dev/loop0, or a /dev/disk/by-* link to one. */
  device: string;
  /** Bytes (see parseSize). */
  size: number;
  /** GPT partition name and filesystem label (default `data`). */
  label?: string;
  fs?: Filesystem;
  /** Wipe a disk that has partitions or signatures instead of refusing it. */
  force?: boolean;
}

export interface PartitionDeps {
  run: Runner;
  /** Whether the partition's block device node exists (default: `test -b` through `run`). */
  exists?: (path: string) => Promise<boolean>;
  sleep?: (ms: number) => Promise<void>;
  /** Each command as it starts (`+ sgdisk …`), like `sh -x`. */
  onLog?: (line: string) => void;
}

export interface PartitionResult {
  device: string;
  partition: string;
  number: number;
  label: string;
  fs: Filesystem;
  bytes: number;
}

/** GPT type of the partition: Linux filesystem data. */
export const LINUX_FS_TYPE = '8300';
/** sgdisk's alignment (2048 sectors of 512 bytes) and the backup GPT (header + 16 KiB of entries). */
const ALIGN_BYTES = 2048 * 512;
const GPT_ENTRIES_BYTES = 16384;
const LABEL_MAX: Record<Filesystem, number> = { xfs: 12, ext4: 16 };
const MIN_BYTES: Record<Filesystem, number> = { xfs: 300 * 2 ** 20, ext4: 16 * 2 ** 20 };

export { partitionNode } from '../../lib/partition-node.js';

/**
 * Largest partition (whole MiB) that fits at the end of an empty GPT disk of `diskBytes` with
 * `sectorSize` sectors: the disk less the first aligned MiB and the backup GPT at the end.
 */
export const usableBytes = (diskBytes: number, sectorSize: number): number =>
  Math.floor((diskBytes - ALIGN_BYTES - sectorSize - Math.ceil(GPT_ENTRIES_BYTES / sectorSize) * sectorSize) / ALIGN_BYTES) * ALIGN_BYTES;

/** Checks label, filesystem and size; throws PrestageInputError naming the flag. */
export const checkPartitionOptions = (opts: PartitionOptions): Required<PartitionOptions> => {
  const label = opts.label ?? 'data';
  const fs = opts.fs ?? 'xfs';
  if (fs !== 'xfs' && fs !== 'ext4') throw new PrestageInputError('--fs', `${JSON.stringify(fs)} is not supported (xfs or ext4)`);
  if (!/^[A-Za-z0-9_.-]+$/.test(label)) throw new PrestageInputError('--label', `${JSON.stringify(label)} may hold only letters, digits, '_', '.' and '-'`);
  if (label.length > LABEL_MAX[fs]) throw new PrestageInputError('--label', `${JSON.stringify(label)} is longer than the ${LABEL_MAX[fs]} characters a ${fs} label can hold`);
  if (!opts.device.startsWith('/dev/')) throw new PrestageInputError('--device', `${JSON.stringify(opts.device)} is not a device under /dev`);
  if (opts.size < MIN_BYTES[fs]) throw new PrestageInputError('--size', `${formatBytes(opts.size)} is too small for ${fs} (at least ${formatBytes(MIN_BYTES[fs])})`);
  sgdiskSize(opts.size);
  return { device: opts.device, size: opts.size, label, fs, force: opts.force ?? false };
};

/** The commands that write the disk, shared by the runner and the `--print` script. */
export const partitionCommands = (device: string, n: number, o: Required<PartitionOptions>, node: string) => ({
  zap: [
    ['wipefs', '-a', device],
    ['sgdisk', '--zap-all', device],
  ],
  /** After a zap: drop the kernel's view of the old partitions (partx -u cannot, with no table left). */
  forget: ['partx', '-d', device],
  create: ['sgdisk', '-n', `${n}:-${sgdiskSize(o.size)}:0`, '-t', `${n}:${LINUX_FS_TYPE}`, '-c', `${n}:${o.label}`, device],
  reread: ['partx', '-u', device],
  mkfs: o.fs === 'xfs' ? ['mkfs.xfs', '-f', '-L', o.label, node] : ['mkfs.ext4', '-F', '-L', o.label, node],
});

/** What is on a disk: signatures (wipefs, blkid -p), partitions the kernel knows, mounts. */
const inspectDisk = async (run: Runner, device: string) => {
  const wipefs = await run('wipefs', ['--noheadings', '--output', 'TYPE,OFFSET', device]);
  if (wipefs.code !== 0) throw new DiskRefusedError(`cannot read ${device}: wipefs: ${wipefs.stderr.trim()}`);
  const signatures = wipefs.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[0])
    .map(([type, offset]) => `${type} at ${offset}`);
  const probe = await run('blkid', ['-p', '-o', 'export', device]);
  if (probe.code === 0 && signatures.length === 0) {
    const type = /^(?:TYPE|PTTYPE)=(.*)$/m.exec(probe.stdout)?.[1];
    signatures.push(type ?? 'a signature blkid recognises');
  }
  const lsblk = await run('lsblk', ['-nrpo', 'NAME,MOUNTPOINT', device]);
  const rows = lsblk.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '));
  const partitions = rows.map((r) => r[0]!).filter((name) => name !== device);
  const mounts = rows.filter((r) => r[1]).map((r) => `${r[0]} on ${r[1]!.replace(/\\x20/g, ' ')}`);
  return { signatures, partitions, mounts };
};

/** Partition numbers in use, from `sgdisk -p`. */
const usedNumbers = async (run: Runner, device: string): Promise<Set<number>> => {
  const r = await run('sgdisk', ['-p', device]);
  const used = new Set<number>();
  for (const m of r.stdout.matchAll(/^\s+(\d+)\s+\d+\s+\d+\s/gm)) used.add(Number(m[1]));
  return used;
};

/**
 * Creates the pre-staging data partition at the END of `device` (sgdisk `-n N:-<size>:0`, GPT
 * name = label, type Linux filesystem), makes the kernel see it (`partx -u`, waiting for the
 * node) and formats it. Refuses, before writing anything, a disk that is mounted, too small, or
 * (without `force`) holds partitions or signatures; with `force` it wipes the disk first.
 */
export const createDataPartition = async (opts: PartitionOptions & PartitionDeps): Promise<PartitionResult> => {
  const o = checkPartitionOptions(opts);
  const { run } = opts;
  const exists = opts.exists ?? (async (path: string) => (await run('test', ['-b', path])).code === 0);
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const must = async (argv: string[]) => {
    opts.onLog?.(`+ ${argv.join(' ')}`);
    const r = await run(argv[0]!, argv.slice(1));
    if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  };

  const real = await run('readlink', ['-f', o.device]);
  const device = real.code === 0 && real.stdout.trim() ? real.stdout.trim() : o.device;
  const sizeOut = await run('blockdev', ['--getsize64', device]);
  if (sizeOut.code !== 0) throw new PrestageInputError('--device', `${o.device} is not a block device (${sizeOut.stderr.trim()})`);
  const diskBytes = Number(sizeOut.stdout.trim());
  const sectorSize = Number((await run('blockdev', ['--getss', device])).stdout.trim()) || 512;
  const usable = usableBytes(diskBytes, sectorSize);
  if (o.size > usable) {
    throw new PrestageInputError('--size', `${formatBytes(o.size)} is larger than ${device} (${formatBytes(diskBytes)}, at most ${formatBytes(usable)} fits a partition)`);
  }
  const found = await inspectDisk(run, device);
  if (found.mounts.length > 0) throw new DiskRefusedError(`${device} is in use: ${found.mounts.join(', ')}; unmount it first`);
  if (!o.force && (found.signatures.length > 0 || found.partitions.length > 0)) {
    const what = [...(found.signatures.length ? [`signatures ${found.signatures.join(', ')}`] : []), ...(found.partitions.length ? [`partitions ${found.partitions.join(', ')}`] : [])];
    throw new DiskRefusedError(`${device} is not empty (${what.join('; ')}); nothing was changed. Pass --force to wipe it`);
  }

  const probeCmds = partitionCommands(device, 1, o, '');
  if (o.force) {
    for (const argv of probeCmds.zap) await must(argv);
    if (found.partitions.length > 0) await must(probeCmds.forget);
  }
  const used = await usedNumbers(run, device);
  let n = 1;
  while (used.has(n)) n++;
  const node = partitionNode(device, n);
  const cmds = partitionCommands(device, n, o, node);
  await must(cmds.create);
  await must(cmds.reread);
  const appeared = async () => {
    for (let i = 0; i < 100; i++) {
      if (await exists(node)) return true;
      await sleep(100);
    }
    return false;
  };
  if (!(await appeared())) {
    await must(['partx', '-a', device]);
    if (!(await appeared())) throw new Error(`${node} did not appear after partx; is ${device} a partitionable disk?`);
  }
  await must(cmds.mkfs);
  const bytes = Number((await run('blockdev', ['--getsize64', node])).stdout.trim());
  return { device, partition: node, number: n, label: o.label, fs: o.fs, bytes };
};
