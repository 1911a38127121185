import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { buildBcd, type BcdRequest, describeBcd, planBcd } from './bcd.js';
import { type AgentContext, device, mustPartition, resolveArtifact, type Step } from './context.js';
import { StepError } from './exec.js';
import { copyToEsp } from './esp.js';
import { inRoot } from './in-root.js';
import { ensureMounted } from './mounts.js';

const WIM_MEDIA_TYPES = ['application/vnd.ms-wim', 'application/x-ms-wim', 'application/vnd.oci.image.layer.v1.tar'];
export const wimPath = (ctx: AgentContext) => join(ctx.scratchDir, 'install.wim');
const windowsDir = (ctx: AgentContext) => join(ctx.mountRoot, 'windows');

/** pull: the WIM to the scratch directory (it must be a file for wimapply), digest verified while writing, resumed after drops. */
export const pullWimStep: Step = {
  name: 'pull',
  async run(ctx) {
    const { client, repo, layer } = await resolveArtifact(ctx, WIM_MEDIA_TYPES);
    const out = wimPath(ctx);
    if (ctx.run.dryRun) {
      ctx.run.note(`download ${repo}@${layer.digest} (${layer.size} bytes) to ${out}`);
      return { message: `would download ${layer.digest}` };
    }
    await mkdir(ctx.scratchDir, { recursive: true });
    const fs = await statfs(ctx.scratchDir);
    const free = fs.bavail * fs.bsize;
    if (free < layer.size) throw new StepError(`the scratch directory ${ctx.scratchDir} has ${free} bytes free; the WIM needs ${layer.size}`);
    ctx.reporter.progress('pull', 0, layer.size);
    try {
      await client.pullToFile(repo, layer.digest, layer.size, out);
    } catch (err) {
      await rm(out, { force: true });
      throw err;
    }
    return { message: `downloaded ${ctx.task.recipe.oci_url} (${layer.digest}, ${layer.size} bytes)` };
  },
};

/** apply: wimapply the recipe's image index straight onto the NTFS volume. */
export const applyStep: Step = {
  name: 'apply',
  async run(ctx) {
    const win = mustPartition(ctx, 'windows', 'Windows (C:, ntfs)');
    const index = String(ctx.task.recipe.wim_index ?? 1);
    if (!ctx.run.dryRun && !existsSync(wimPath(ctx))) throw new StepError(`${wimPath(ctx)} is missing: the pull step did not complete`);
    await ctx.run.run('wimapply', [wimPath(ctx), index, device(ctx, win)]);
    return { message: `applied image ${index} of the WIM to ${device(ctx, win)}` };
  },
};

const copyTree = async (from: string, to: string): Promise<number> => {
  let n = 0;
  await mkdir(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (e.isDirectory()) n += await copyTree(join(from, e.name), join(to, e.name));
    else if (e.isFile()) {
      await copyFile(join(from, e.name), join(to, e.name));
      n++;
    }
  }
  return n;
};

/** Case-insensitive path lookup on an NTFS tree mounted by ntfs-3g (Windows paths vary in case). */
const findPath = (root: string, rel: string): string | null => {
  let cur = root;
  for (const part of rel.split('/')) {
    const hit = existsSync(cur) ? readdirSync(cur).find((n) => n.toLowerCase() === part.toLowerCase()) : undefined;
    if (!hit) return null;
    cur = join(cur, hit);
  }
  return cur;
};

const mountWindows = async (ctx: AgentContext) => {
  const win = mustPartition(ctx, 'windows', 'Windows (C:, ntfs)');
  await ensureMounted(ctx.run, device(ctx, win), windowsDir(ctx), ['-t', 'ntfs-3g']);
};

/** The boot menu name of the install: the WIM image's display name (or name), as Setup would show it. */
const imageDescription = async (ctx: AgentContext): Promise<string> => {
  const index = String(ctx.task.recipe.wim_index ?? 1);
  if (!existsSync(wimPath(ctx))) return 'Windows';
  try {
    const info = (await ctx.run.query('wiminfo', [wimPath(ctx), index])).stdout;
    const field = (name: string) => new RegExp(`^${name}:[ \\t]*(\\S.*)$`, 'm').exec(info)?.[1]?.trim();
    return field('Display Name') ?? field('Name') ?? 'Windows';
  } catch {
    return 'Windows';
  }
};

/**
 * boot-files: the EFI system partition from the image's own boot files — Windows/Boot/EFI to
 * EFI/Microsoft/Boot (with Windows/Boot/Fonts), bootmgfw.efi also as the removable path
 * EFI/Boot/bootx64.efi, and EFI/Microsoft/Boot/BCD built from the image's BCD template (bcd.ts)
 * — staged in the scratch directory, then written onto the FAT filesystem. Without a template
 * or hivexsh the step still succeeds, with a warning that says what is missing.
 */
export const bootFilesStep: Step = {
  name: 'boot-files',
  async run(ctx) {
    const esp = mustPartition(ctx, 'esp', 'EFI system');
    const win = mustPartition(ctx, 'windows', 'Windows (C:, ntfs)');
    await mountWindows(ctx);
    const stage = join(ctx.scratchDir, 'esp');
    const bcd = (template: string | null, memtest: boolean, description: string): BcdRequest => ({
      template,
      out: join(stage, 'EFI/Microsoft/Boot/BCD'),
      script: join(ctx.scratchDir, 'bcd.hivexsh'),
      disk: ctx.disk,
      espNumber: esp.number,
      windowsNumber: win.number,
      description,
      memtest,
    });
    if (ctx.run.dryRun) {
      ctx.run.note(`copy Windows/Boot/EFI to EFI/Microsoft/Boot and bootmgfw.efi to EFI/Boot/bootx64.efi on ${device(ctx, esp)}`);
      await planBcd(ctx.run, bcd(null, true, 'Windows'));
      return { message: 'would copy boot files and build the BCD store' };
    }
    const src = findPath(windowsDir(ctx), 'Windows/Boot/EFI');
    const mgr = src && findPath(src, 'bootmgfw.efi');
    if (!src || !mgr) throw new StepError('the image has no Windows/Boot/EFI/bootmgfw.efi; it cannot boot under UEFI');
    await rm(stage, { recursive: true, force: true });
    const n = await copyTree(src, join(stage, 'EFI/Microsoft/Boot'));
    const fonts = findPath(windowsDir(ctx), 'Windows/Boot/Fonts');
    if (fonts) await copyTree(fonts, join(stage, 'EFI/Microsoft/Boot/Fonts'));
    await mkdir(join(stage, 'EFI/Boot'), { recursive: true });
    await copyFile(mgr, join(stage, 'EFI/Boot/bootx64.efi'));
    const template = findPath(windowsDir(ctx), 'Windows/System32/config/BCD-Template');
    const memtest = findPath(join(stage, 'EFI/Microsoft/Boot'), 'memtest.efi') !== null;
    const outcome = await buildBcd(ctx.run, bcd(template, memtest, await imageDescription(ctx)));
    await copyToEsp(ctx.run, device(ctx, esp), stage, join(ctx.mountRoot, 'esp'));
    await rm(stage, { recursive: true, force: true });
    await rm(join(ctx.scratchDir, 'bcd.hivexsh'), { force: true });
    if (!outcome.built) await ctx.reporter.send({ step: 'boot-files', level: 'warn', message: describeBcd(outcome) });
    return { message: `${n} boot files on the ESP under EFI/Microsoft/Boot, EFI/Boot/bootx64.efi in place; ${describeBcd(outcome)}` };
  },
};

/** unattend: the recipe's unattend.xml at Windows/Panther/unattend.xml, where Windows Setup looks first. */
export const unattendStep: Step = {
  name: 'unattend',
  async run(ctx) {
    const xml = ctx.task.unattendXml;
    if (!xml) return { skipped: 'the recipe has no unattend_xml' };
    await mountWindows(ctx);
    const win = findPath(windowsDir(ctx), 'Windows') ?? join(windowsDir(ctx), 'Windows');
    const panther = findPath(win, 'Panther') ?? join(win, 'Panther');
    ctx.run.note(`write ${panther}/unattend.xml (${xml.length} bytes)`);
    if (!ctx.run.dryRun) {
      const rel = relative(windowsDir(ctx), panther);
      await mkdir(await inRoot(windowsDir(ctx), rel), { recursive: true });
      await writeFile(await inRoot(windowsDir(ctx), `${rel}/unattend.xml`), xml);
    }
    return { message: 'unattend.xml placed at Windows/Panther/unattend.xml' };
  },
};
