import { readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Runner } from './exec.js';

/** Mount points from /proc/mounts (octal escapes decoded), with their sources. */
export const mountTable = (): { source: string; target: string; fstype: string }[] =>
  readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [source, target, fstype] = line.split(' ').map((f) => f.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
      return { source: source!, target: target!, fstype: fstype! };
    });

export const isMounted = (target: string) => mountTable().some((m) => m.target === target);

/** Mounts `device` at `target` unless something is already mounted there. */
export const ensureMounted = async (run: Runner, device: string, where: string, args: string[] = []): Promise<void> => {
  const target = resolve(where);
  if (!run.dryRun) await mkdir(target, { recursive: true });
  if (!run.dryRun && isMounted(target)) return;
  await run.run('mount', [...args, device, target]);
};

/** Unmounts everything at or below `root`, deepest first. */
export const unmountBelow = async (run: Runner, root: string): Promise<string[]> => {
  const targets = mountTable()
    .map((m) => m.target)
    .filter((t) => t === root || t.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
  for (const t of targets) await run.run('umount', [t]);
  return targets;
};

/** Mounts or swaps that use `disk` or one of its partitions: installing over them would corrupt a running system. */
export const usersOfDisk = (disk: string): string[] => {
  const ours = (source: string) => source === disk || (source.startsWith(disk) && /^p?\d+$/.test(source.slice(disk.length)));
  const mounts = mountTable()
    .filter((m) => ours(m.source))
    .map((m) => `${m.source} on ${m.target}`);
  let swaps: string[] = [];
  try {
    swaps = readFileSync('/proc/swaps', 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[0]!)
      .filter((s) => s && ours(s))
      .map((s) => `${s} as swap`);
  } catch {
    // no /proc/swaps
  }
  return [...mounts, ...swaps, ...holdersOf(disk)];
};

/** Device-mapper, MD RAID or LVM devices built on the disk or its partitions (/sys/block/<disk>/…/holders). */
const holdersOf = (disk: string): string[] => {
  const name = basename(disk);
  const sys = `/sys/class/block/${name}`;
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  const parts = list(sys).filter((e) => e.startsWith(name));
  return [sys, ...parts.map((p) => `${sys}/${p}`)].flatMap((d) => list(`${d}/holders`).map((h) => `${basename(d)} held by ${h}`));
};
