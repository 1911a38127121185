import { join } from 'node:path';
import type { Prestage } from '../recipes/recipe-normalize.js';
import { DiskRefusedError, PrestageInputError } from '../ignition/prestage/errors.js';
import { createDataPartition, type Runner as PrestageRunner } from '../ignition/prestage/partition.js';
import { partitionScript } from '../ignition/prestage/partition-script.js';
import { precacheDownload } from '../ignition/prestage/precache.js';
import { partitionNode } from '../lib/partition-node.js';
import type { AgentContext, Step } from './context.js';
import { isControllerOverHttps } from './controller-trust.js';
import { StepError } from './exec.js';
import { parsePartitionTable } from './disk.js';
import { ensureMounted } from './mounts.js';

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

const prestageOf = (ctx: AgentContext): Prestage => {
  const p = ctx.task.recipe.prestage;
  if (!p) throw new StepError('the recipe has no prestage section');
  return p;
};

/** The pre-staging core's command runner, over the agent's (read-only probes are not echoed; changes are, through onLog). */
const runnerFor =
  (ctx: AgentContext): PrestageRunner =>
  async (cmd, args) => {
    try {
      return await ctx.run.query(cmd, args, { okCodes: ANY_EXIT });
    } catch (err) {
      return { code: 127, stdout: '', stderr: (err as Error).message };
    }
  };

/** The data partition if the disk already has one with the label (a re-run resumes into it). */
const existingDataPartition = async (ctx: AgentContext, label: string): Promise<number | null> => {
  const { stdout, code } = await ctx.run.query('sgdisk', ['-p', ctx.disk], { okCodes: ANY_EXIT });
  if (code !== 0) return null;
  return parsePartitionTable(stdout).find((p) => p.name === label)?.number ?? null;
};

const dataDir = (ctx: AgentContext) => join(ctx.mountRoot, 'data');

/** The partition node of the data partition, made visible to the kernel. */
const dataNode = async (ctx: AgentContext, label: string): Promise<string> => {
  const n = await existingDataPartition(ctx, label);
  if (n === null) throw new StepError(`${ctx.disk} has no partition named ${label}: the partition step did not run`);
  await ctx.run.run('partx', ['-u', ctx.disk], { okCodes: [0, 1] });
  return partitionNode(ctx.disk, n);
};

/**
 * partition: the data partition at the END of the target disk (GPT name = label, XFS by
 * default), made by the pre-staging core. A disk that already has a partition with that name is
 * kept as it is, so a job run again resumes the download; any other non-empty disk is refused
 * before anything is written.
 */
export const prestagePartitionStep: Step = {
  name: 'partition',
  async run(ctx) {
    const p = prestageOf(ctx);
    const opts = { device: ctx.disk, size: p.size_bytes, label: p.label, fs: p.fs };
    if (ctx.run.dryRun) {
      ctx.run.note(`run:\n${partitionScript(opts)}`);
      return { message: `would create ${p.label} (${p.size}, ${p.fs}) at the end of ${ctx.disk}` };
    }
    const existing = await existingDataPartition(ctx, p.label);
    if (existing !== null) return { message: `${ctx.disk} already has partition ${existing} named ${p.label}: kept, the download resumes into it` };
    try {
      const made = await createDataPartition({ ...opts, run: runnerFor(ctx), onLog: ctx.log });
      return { message: `${made.partition} (${(made.bytes / 2 ** 30).toFixed(1)} GiB, ${made.fs}, partlabel ${made.label}) at the end of ${made.device}` };
    } catch (err) {
      if (err instanceof DiskRefusedError || err instanceof PrestageInputError) throw new StepError(err.message);
      throw err;
    }
  },
};

export const prestageMountStep: Step = {
  name: 'mount',
  async run(ctx) {
    const p = prestageOf(ctx);
    const node = ctx.run.dryRun ? `/dev/disk/by-partlabel/${p.label}` : await dataNode(ctx, p.label);
    await ensureMounted(ctx.run, node, dataDir(ctx));
    return { message: `${node} on ${dataDir(ctx)}` };
  },
};

/** The registry the images come from: --registry, else the controller's own (over HTTPS with its CA when it speaks HTTPS). */
const registryOf = (ctx: AgentContext): { registry: string; plainHttp: boolean; ca?: string } => {
  const withCa = (r: { registry: string; plainHttp: boolean }) =>
    !r.plainHttp && ctx.task.ca !== null && isControllerOverHttps(ctx.task, r.registry) ? { ...r, ca: ctx.task.ca } : r;
  if (ctx.registry) return withCa({ registry: ctx.registry, plainHttp: !!ctx.plainHttp || ctx.task.insecureRegistries.includes(ctx.registry) });
  if (!ctx.task.controllerUrl) throw new StepError('no registry to pre-cache from: the task names no controller; give --registry host:port');
  const url = new URL(ctx.task.controllerUrl);
  return withCa({ registry: url.host, plainHttp: url.protocol === 'http:' || ctx.task.insecureRegistries.includes(url.host) });
};

/**
 * download: the images of the release and lists, from reef's registry into the data partition,
 * in the layout the Ignition overrides load from (one verified .tgz per image, the lists and
 * mapping.txt); complete archives from an earlier run are kept. Progress in bytes.
 */
export const prestageDownloadStep: Step = {
  name: 'download',
  async run(ctx) {
    const p = prestageOf(ctx);
    const { registry, plainHttp, ca } = registryOf(ctx);
    const what = [p.release ? `release ${p.release}` : '', p.ai_images.length ? `${p.ai_images.length} ai images` : '', p.ocp_images.length ? `${p.ocp_images.length} ocp images` : ''].filter(Boolean).join(', ');
    if (ctx.run.dryRun) {
      ctx.run.note(`download ${what} from ${registry} into ${dataDir(ctx)}`);
      return { message: `would download ${what}` };
    }
    await prestageMountStep.run(ctx);
    let total = 0;
    const done = new Map<string, number>();
    const summary = await precacheDownload({
      registry,
      plainHttp,
      ...(ca !== undefined ? { ca } : {}),
      ...(ctx.registryAuth ? { auth: ctx.registryAuth } : {}),
      to: dataDir(ctx),
      ...(p.release ? { release: p.release } : {}),
      aiImages: p.ai_images,
      ocpImages: p.ocp_images,
      onProgress: (e) => {
        if (e.type === 'plan') total = e.bytesToDownload;
        else if (e.state === 'progress' || e.state === 'done') done.set(e.image, e.done);
        if (total > 0) ctx.reporter.progress('download', Math.min(total, [...done.values()].reduce((a, b) => a + b, 0)), total);
      },
    }).catch((err: unknown) => {
      throw err instanceof PrestageInputError ? new StepError(err.message) : err;
    });
    if (summary.failed.length) {
      throw new StepError(`${summary.failed.length} of ${summary.images} images failed: ${summary.failed.map((f) => `${f.image}: ${f.error}`).join('; ')}`);
    }
    return {
      message: `${summary.images} images (${what}) on the data partition: ${summary.downloaded.length} downloaded, ${summary.skipped.length} already there; ${(summary.bytes / 2 ** 20).toFixed(0)} MiB in ${summary.seconds.toFixed(1)} s`,
    };
  },
};
