import { rm } from 'node:fs/promises';
import type { AgentContext, Step } from './context.js';
import { StepError } from './exec.js';
import { unmountBelow } from './mounts.js';
import { ReportRejected } from './reporter.js';
import { formatStep, partitionStep } from './steps-disk.js';
import { prestageDownloadStep, prestageMountStep, prestagePartitionStep } from './steps-prestage.js';
import { bootloaderStep, cloudInitStep, fstabStep, mountStep, pullExtractStep } from './steps-linux.js';
import { applyStep, bootFilesStep, pullWimStep, unattendStep, wimPath } from './steps-windows.js';

/** finish: unmount everything, drop the scratch WIM, flush to disk. */
export const finishStep: Step = {
  name: 'finish',
  async run(ctx) {
    const unmounted = await unmountBelow(ctx.run, ctx.mountRoot);
    if (!ctx.run.dryRun) await rm(wimPath(ctx), { force: true });
    await ctx.run.run('sync', []);
    return { message: `unmounted ${unmounted.length} filesystems; disk ready` };
  },
};

/** The steps of each task target, in order (the systemd units run the same steps one by one). */
export const PLANS: Record<string, Step[]> = {
  'install-linux.target': [partitionStep, formatStep, mountStep, pullExtractStep, fstabStep, cloudInitStep, bootloaderStep, finishStep],
  'install-windows.target': [partitionStep, formatStep, pullWimStep, applyStep, bootFilesStep, unattendStep, finishStep],
  'prestage.target': [prestagePartitionStep, prestageMountStep, prestageDownloadStep, finishStep],
};

export const planFor = (target: string): Step[] => {
  const plan = PLANS[target];
  if (!plan) throw new StepError(`the agent has no steps for task_target ${target} (known: ${Object.keys(PLANS).join(', ')})`);
  return plan;
};

export type RunOutcome = { status: 'succeeded' } | { status: 'failed'; step: string; reason: string } | { status: 'rejected'; reason: string };

const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Runs `steps` with an event at each start and end; on the first failure, reports the failed
 * step with the reason and stops (mounts released). `final` decides whether the last event is
 * the job's final status (a whole run) or not (one step run by its systemd unit).
 */
export const runSteps = async (ctx: AgentContext, steps: Step[], final: { succeeded: boolean }): Promise<RunOutcome> => {
  const { reporter } = ctx;
  let current = 'start';
  let unbootable: string | undefined;
  try {
    for (const step of steps) {
      current = step.name;
      await reporter.send({ step: step.name, message: `${step.name}: started` });
      const t0 = Date.now();
      const outcome = await step.run(ctx);
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      if ('skipped' in outcome) {
        if (outcome.unbootable) unbootable = outcome.skipped;
        await reporter.send({ step: step.name, level: 'warn', message: `${step.name}: skipped — ${outcome.skipped}` });
      } else await reporter.send({ step: step.name, message: `${step.name}: done in ${secs} s — ${outcome.message}` });
    }
    if (final.succeeded) {
      const caveat = unbootable ? ` — the disk will not boot by itself: ${unbootable}` : '';
      await reporter.send({ step: current, status: 'succeeded', message: `${ctx.task.recipe.task_target} completed on ${ctx.disk}${caveat}` });
    }
    await reporter.flush();
    return { status: 'succeeded' };
  } catch (err) {
    // Whatever stopped the run (a failed step, the controller refusing reports), release the target.
    if (!ctx.run.dryRun) await unmountBelow(ctx.run, ctx.mountRoot).catch(() => {});
    if (err instanceof ReportRejected) return { status: 'rejected', reason: err.message };
    const reason = reasonOf(err);
    try {
      await reporter.send({ step: current, status: 'failed', failed_step: current, reason });
      await reporter.flush();
    } catch (rejected) {
      if (rejected instanceof ReportRejected) return { status: 'rejected', reason: rejected.message };
    }
    return { status: 'failed', step: current, reason };
  }
};
