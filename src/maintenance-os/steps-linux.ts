import { existsSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Partition } from '../recipes/recipe-normalize.js';
import { type AgentContext, device, mustPartition, partitionByRole, resolveArtifact, type Step } from './context.js';
import { copyToEsp, kernelHasVfat } from './esp.js';
import { loadModules, modulesForLayout, VFAT_MODULES } from './kernel-modules.js';
import { StepError } from './exec.js';
import { extractRootfs } from './extract.js';
import { inRoot } from './in-root.js';
import { ensureMounted, unmountBelow } from './mounts.js';

const ROOTFS_MEDIA_TYPES = [
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/x-tar',
  'application/gzip',
];

const rootDir = (ctx: AgentContext) => join(ctx.mountRoot, 'root');

/**
 * Linux partitions mounted for the extraction, parents before children (/ before /var before
 * /var/log). The ESP is not among them: its files are extracted onto the root and then copied
 * onto the FAT filesystem (see esp.ts), which works whether or not the kernel mounts vfat.
 */
const mounted = (ctx: AgentContext): Partition[] =>
  ctx.task.recipe.partitions
    .filter((p) => p.mountpoint?.startsWith('/') && p.format && p.format !== 'swap' && p.role !== 'esp')
    .sort((a, b) => a.mountpoint!.length - b.mountpoint!.length);

/** Moves what the rootfs put under the ESP's mount point (/boot/efi) onto the ESP, leaving an empty mount point. */
const moveToEsp = async (ctx: AgentContext): Promise<string> => {
  const esp = partitionByRole(ctx, 'esp');
  if (!esp?.mountpoint) return '';
  const local = await inRoot(rootDir(ctx), esp.mountpoint);
  if (!existsSync(local)) {
    await mkdir(local, { recursive: true });
    return '';
  }
  const moved = await copyToEsp(ctx.run, device(ctx, esp), local, join(ctx.mountRoot, 'esp'));
  for (const e of moved) await rm(join(local, e), { recursive: true, force: true });
  return moved.length ? `; ${moved.join(', ')} moved onto the ESP` : '';
};

/** mount: the root filesystem, then every other mount point of the recipe inside it. */
export const mountStep: Step = {
  name: 'mount',
  async run(ctx) {
    mustPartition(ctx, 'root', 'root (/)');
    await loadModules(ctx.run, modulesForLayout(ctx.task.recipe.partitions));
    const list = mounted(ctx);
    for (const p of list) await ensureMounted(ctx.run, device(ctx, p), await inRoot(rootDir(ctx), p.mountpoint!));
    return { message: list.map((p) => `${device(ctx, p)} on ${p.mountpoint}`).join(', ') };
  },
};

/** pull: the rootfs layer streamed from the registry straight into tar on the mounted root, digest checked before anything is kept. */
export const pullExtractStep: Step = {
  name: 'pull',
  async run(ctx) {
    const { client, repo, layer } = await resolveArtifact(ctx, ROOTFS_MEDIA_TYPES);
    if (ctx.run.dryRun) {
      ctx.run.note(`stream ${repo}@${layer.digest} (${layer.size} bytes) | tar -x into ${rootDir(ctx)}`);
      return { message: `would extract ${layer.digest}` };
    }
    await mountStep.run(ctx);
    ctx.reporter.progress('pull', 0, layer.size);
    const started = Date.now();
    const result = await extractRootfs((onData) => client.blobPush(repo, layer.digest, layer.size, onData), rootDir(ctx), ctx.log);
    const secs = (Date.now() - started) / 1000;
    const esp = await moveToEsp(ctx);
    return {
      message: `extracted ${result.entries} entries from ${ctx.task.recipe.oci_url} (${layer.digest}, ${layer.size} bytes, ${result.compression}) in ${secs.toFixed(1)} s, ${(layer.size / 2 ** 20 / Math.max(secs, 0.001)).toFixed(0)} MiB/s${esp}`,
    };
  },
};

const fsOptions: Record<string, { options: string; pass: number }> = {
  ext4: { options: 'defaults,errors=remount-ro', pass: 1 },
  xfs: { options: 'defaults', pass: 0 },
  vfat: { options: 'umask=0077', pass: 2 },
};

/** The fstab of the installed system, every entry by filesystem UUID. */
export const renderFstab = (entries: { uuid: string; mountpoint: string; format: string }[]): string => {
  const lines = ['# /etc/fstab written by reef agent: filesystems by UUID', '# <file system> <mount point> <type> <options> <dump> <pass>'];
  for (const e of entries) {
    if (e.format === 'swap') {
      lines.push(`UUID=${e.uuid} none swap sw 0 0`);
      continue;
    }
    const o = fsOptions[e.format] ?? { options: 'defaults', pass: 2 };
    const pass = e.mountpoint === '/' || o.pass === 0 ? o.pass : 2;
    lines.push(`UUID=${e.uuid} ${e.mountpoint} ${e.format} ${o.options} 0 ${pass}`);
  }
  return `${lines.join('\n')}\n`;
};

const uuidOf = async (ctx: AgentContext, dev: string): Promise<string> => {
  if (ctx.run.dryRun) return `<uuid of ${dev}>`;
  const { stdout } = await ctx.run.query('blkid', ['-s', 'UUID', '-o', 'value', dev], { okCodes: [0] });
  const uuid = stdout.trim();
  if (!uuid) throw new StepError(`blkid found no filesystem UUID on ${dev}`);
  return uuid;
};

export const fstabStep: Step = {
  name: 'fstab',
  async run(ctx) {
    const parts = ctx.task.recipe.partitions.filter((p) => (p.mountpoint?.startsWith('/') && p.format) || p.format === 'swap');
    const entries = [];
    for (const p of parts) entries.push({ uuid: await uuidOf(ctx, device(ctx, p)), mountpoint: p.mountpoint ?? 'none', format: p.format! });
    const fstab = renderFstab(entries.sort((a, b) => a.mountpoint.length - b.mountpoint.length));
    ctx.run.note(`write ${join(rootDir(ctx), 'etc/fstab')}:\n${fstab}`);
    if (!ctx.run.dryRun) {
      await mountStep.run(ctx);
      await mkdir(await inRoot(rootDir(ctx), 'etc'), { recursive: true });
      await writeFile(await inRoot(rootDir(ctx), 'etc/fstab'), fstab, { mode: 0o644 });
    }
    return { message: `${entries.length} entries by UUID` };
  },
};

const defaultMetaData = (ctx: AgentContext) => {
  const id = (ctx.task.jobId ?? 'reef-install').toLowerCase();
  return `instance-id: ${id}\n${ctx.task.recipe.hostname ? `local-hostname: ${ctx.task.recipe.hostname}\n` : ''}`;
};

/** cloud-init: the NoCloud seed in the target (/var/lib/cloud/seed/nocloud/{user-data,meta-data}). */
export const cloudInitStep: Step = {
  name: 'cloud-init',
  async run(ctx) {
    const userData = ctx.task.userData;
    if (!userData) return { skipped: 'the recipe has no cloud_init or user_data' };
    const metaData = ctx.task.metaData ?? defaultMetaData(ctx);
    ctx.run.note(`write ${join(rootDir(ctx), 'var/lib/cloud/seed/nocloud')}/user-data (${userData.length} bytes) and meta-data`);
    if (!ctx.run.dryRun) {
      await mountStep.run(ctx);
      const dir = await inRoot(rootDir(ctx), 'var/lib/cloud/seed/nocloud');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(join(dir, 'user-data'), userData, { mode: 0o600 });
      await writeFile(join(dir, 'meta-data'), metaData, { mode: 0o600 });
      await chmod(dir, 0o700);
    }
    return { message: `NoCloud seed written (${userData.split('\n', 1)[0]})` };
  },
};

const GRUB_INSTALL = ['usr/sbin/grub-install', 'usr/bin/grub-install', 'usr/sbin/grub2-install'];

/** The EFI binaries on a FAT filesystem (read with mtools: no vfat mount needed), as `EFI/BOOT/BOOTX64.EFI`. */
const efiBinaries = async (ctx: AgentContext, dev: string): Promise<string[]> => {
  const r = await ctx.run.query('mdir', ['-/', '-b', '-i', dev, '::/EFI']).catch(() => ({ stdout: '' }));
  return r.stdout
    .split('\n')
    .map((l) => l.trim().replace(/^::\//, ''))
    .filter((l) => /\.efi$/i.test(l));
};

/**
 * bootloader: GRUB for UEFI, installed in a chroot when the rootfs carries it, and then checked
 * on the ESP (EFI/BOOT/BOOTX64.EFI, the removable path firmware boots without NVRAM entries).
 * An image with GRUB that cannot be installed fails the step: the disk would not boot. An image
 * without GRUB that put its own EFI binary on the ESP is fine; one with neither is skipped, and
 * the job's final event says the disk will not boot by itself.
 */
export const bootloaderStep: Step = {
  name: 'bootloader',
  async run(ctx) {
    const root = rootDir(ctx);
    if (!ctx.run.dryRun) await mountStep.run(ctx);
    const esp = mustPartition(ctx, 'esp', 'EFI system');
    const espDev = device(ctx, esp);
    const grub = GRUB_INSTALL.find((p) => existsSync(join(root, p)));
    const modules = existsSync(join(root, 'usr/lib/grub/x86_64-efi'));
    if (!ctx.run.dryRun && (!grub || !modules)) {
      const own = await efiBinaries(ctx, espDev);
      if (own.length) return { message: `the image brings its own boot loader on the ESP (${own.join(', ')})` };
      return {
        skipped: `the rootfs has no GRUB for UEFI (${!grub ? 'no grub-install' : 'no usr/lib/grub/x86_64-efi'}) and put no EFI binary on the ESP; the image must bring its own boot loader (e.g. systemd-boot or a UKI under /boot/efi)`,
        unbootable: true,
      };
    }
    const notLoaded = await loadModules(ctx.run, VFAT_MODULES);
    if (!ctx.run.dryRun && !kernelHasVfat()) {
      throw new StepError(`the image carries GRUB but this kernel cannot mount vfat (modprobe ${notLoaded.join(', ') || 'vfat'} failed), so grub-install cannot write the ESP; the disk would not boot`);
    }
    const binds = ['dev', 'proc', 'sys', 'sys/firmware/efi/efivars'].filter((d) => ctx.run.dryRun || existsSync(`/${d}`));
    try {
      await ensureMounted(ctx.run, espDev, await inRoot(root, 'boot/efi'));
      for (const d of binds) await ensureMounted(ctx.run, `/${d}`, await inRoot(root, d), ['--bind']);
      const install = `/${grub ?? GRUB_INSTALL[0]}`;
      await ctx.run.run('chroot', [root, install, '--target=x86_64-efi', '--efi-directory=/boot/efi', '--bootloader-id=reef', '--removable', '--recheck']);
      const mkconfig = existsSync(join(root, 'usr/sbin/update-grub')) ? ['/usr/sbin/update-grub'] : ['grub-mkconfig', '-o', '/boot/grub/grub.cfg'];
      await ctx.run.run('chroot', [root, ...mkconfig]);
    } finally {
      for (const d of [...binds, 'boot/efi'].reverse()) await unmountBelow(ctx.run, join(root, d));
    }
    if (!ctx.run.dryRun) {
      const installed = await efiBinaries(ctx, espDev);
      if (!installed.some((f) => /^EFI\/BOOT\/BOOTX64\.EFI$/i.test(f))) {
        throw new StepError(`grub-install ended without error but the ESP ${espDev} has no EFI/BOOT/BOOTX64.EFI (found: ${installed.join(', ') || 'no EFI binary'}); the disk would not boot`);
      }
    }
    return { message: 'GRUB installed for x86_64-efi (removable path EFI/BOOT/BOOTX64.EFI, checked on the ESP)' };
  },
};
