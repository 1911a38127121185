import { existsSync } from 'node:fs';
import { type AgentContext, device, type Step } from './context.js';
import { checkLayoutFits, mkfsCommand, parseStartSectors, sgdiskCreateArgs } from './disk.js';
import { StepError } from './exec.js';
import { usersOfDisk } from './mounts.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Re-reads the partition table and waits for the partition nodes (no udev in the live image: partx). */
const waitForNodes = async (ctx: AgentContext, nodes: string[]): Promise<void> => {
  if (ctx.run.dryRun) {
    await ctx.run.run('partx', ['-u', ctx.disk]);
    return;
  }
  // partx -u updates partitions the kernel knows; new ones need -a (done when the nodes do not show up at once).
  await ctx.run.run('partx', ['-u', ctx.disk], { okCodes: [0, 1] });
  for (let i = 0; i < 100; i++) {
    if (nodes.every((n) => existsSync(n))) return;
    if (i === 1) await ctx.run.run('partx', ['-a', ctx.disk], { okCodes: [0, 1] });
    await sleep(100);
  }
  throw new StepError(`the partition nodes ${nodes.filter((n) => !existsSync(n)).join(', ')} did not appear after re-reading the table of ${ctx.disk}`);
};

const diskBytes = async (ctx: AgentContext): Promise<number> => {
  const { stdout } = await ctx.run.query('blockdev', ['--getsize64', ctx.disk]);
  const bytes = Number(stdout.trim());
  if (!Number.isFinite(bytes) || bytes <= 0) throw new StepError(`cannot read the size of ${ctx.disk}`);
  return bytes;
};

/** partition: refuse before writing when the disk is in use or the layout does not fit; then zap, GPT, one entry per partition. */
export const partitionStep: Step = {
  name: 'partition',
  async run(ctx) {
    const parts = ctx.task.recipe.partitions;
    if (parts.length === 0) throw new StepError('the recipe has no partitions');
    if (!existsSync(ctx.disk)) throw new StepError(`target disk ${ctx.disk} does not exist`);
    const busy = usersOfDisk(ctx.disk);
    if (busy.length) throw new StepError(`target disk ${ctx.disk} is in use (${busy.join(', ')}); refusing to repartition it`);
    const bytes = await diskBytes(ctx);
    checkLayoutFits(parts, bytes);
    await ctx.run.run('wipefs', ['--all', '--force', ctx.disk]);
    await ctx.run.run('sgdisk', ['--zap-all', ctx.disk], { okCodes: [0, 2] });
    await ctx.run.run('sgdisk', ['--clear', ...sgdiskCreateArgs(parts, ctx.disk)]);
    await waitForNodes(ctx, parts.map((p) => device(ctx, p)));
    return { message: `${parts.length} partitions on ${ctx.disk} (${(bytes / 2 ** 30).toFixed(1)} GiB): ${parts.map((p) => `${p.number} ${p.label ?? p.role} ${p.size === '0' ? 'rest' : p.size}`).join(', ')}` };
  },
};

/** format: one filesystem per partition that has one, labelled; NTFS with its start sector and geometry. */
export const formatStep: Step = {
  name: 'format',
  async run(ctx) {
    const parts = ctx.task.recipe.partitions.filter((p) => p.format);
    const needsStart = parts.some((p) => p.format === 'ntfs');
    const starts = needsStart ? parseStartSectors((await ctx.run.query('sgdisk', ['-p', ctx.disk])).stdout) : new Map<number, number>();
    const done: string[] = [];
    for (const p of parts) {
      const dev = device(ctx, p);
      const start = starts.get(p.number) ?? 0;
      if (p.format === 'ntfs' && start === 0 && !ctx.run.dryRun) throw new StepError(`cannot read the start sector of partition ${p.number} from sgdisk -p`);
      const [cmd, args] = mkfsCommand(p, dev, start)!;
      await ctx.run.run(cmd, args);
      done.push(`${dev} ${p.format}${p.label ? ` (${p.label})` : ''}`);
    }
    return { message: `formatted ${done.join(', ')}` };
  },
};
