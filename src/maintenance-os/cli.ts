import { existsSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AgentContext } from './context.js';
import { createDryRunner, createRunner } from './exec.js';
import { findTask } from './find-task.js';
import { createReporter } from './reporter.js';
import { planFor, runSteps } from './runner.js';
import { afterInstall, applyMaintenanceAccess } from './after-install.js';

export const AGENT_USAGE = `usage: reef agent [--task <dir|iso|recipe.json>] [--disk /dev/X] [--dry-run] [--step NAME]
                  [--report-failure UNIT] [--print-target] [--mount-root DIR] [--scratch DIR] [--registry-auth user:pass]
                  [--plain-http] [--registry host:port] [--cmdline FILE]
                  [--apply-access] [--apply-after] [--system-root DIR]
  --apply-access   (in the maintenance OS) open it as the recipe's maintenance_access says
  --apply-after    (in the maintenance OS) once the final report is delivered, do the recipe's
                   \`after\` (reboot by default, poweroff, none); without it nothing is rebooted`;

const OPTIONS = {
  task: { type: 'string' },
  disk: { type: 'string' },
  'dry-run': { type: 'boolean' },
  step: { type: 'string' },
  'report-failure': { type: 'string' },
  'print-target': { type: 'boolean' },
  'mount-root': { type: 'string' },
  scratch: { type: 'string' },
  'registry-auth': { type: 'string' },
  'plain-http': { type: 'boolean' },
  registry: { type: 'string' },
  cmdline: { type: 'string' },
  'apply-access': { type: 'boolean' },
  'apply-after': { type: 'boolean' },
  'system-root': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const kernelName = (disk: string) => (existsSync(disk) ? realpathSync(disk) : disk);

const usage = (message: string): never => {
  process.stderr.write(`reef agent: ${message}\n${AGENT_USAGE}\n`);
  process.exit(2);
};

/**
 * `reef agent`: finds the task, runs the steps of its task_target (or the one named by --step, as
 * the systemd units do), reports each to the controller. Exit 0 done, 1 a step failed, 2 bad
 * usage, 3 the controller rejected the reports (wrong token, job canceled or finished).
 */
export const agentCommand = async (argv: string[]): Promise<void> => {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false }));
  } catch (err) {
    return usage((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${AGENT_USAGE}\n`);
    return;
  }
  let registryAuth: AgentContext['registryAuth'];
  if (values['registry-auth'] !== undefined) {
    const i = values['registry-auth'].indexOf(':');
    if (i <= 0) usage('--registry-auth expects user:password');
    registryAuth = { username: values['registry-auth'].slice(0, i), password: values['registry-auth'].slice(i + 1) };
  }
  if (values.disk !== undefined && !/^\/dev\/\S+$/.test(values.disk)) usage(`--disk must be a device path such as /dev/sda, not ${JSON.stringify(values.disk)}`);
  const log = (line: string) => process.stdout.write(`${line}\n`);

  let task;
  try {
    task = await findTask({ task: values.task, cmdlineFile: values.cmdline ?? '/proc/cmdline' });
  } catch (err) {
    process.stderr.write(`reef agent: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let plan: ReturnType<typeof planFor>;
  try {
    plan = planFor(task.recipe.task_target);
  } catch (err) {
    // Tell the controller, or the job would wait for REEF_JOB_TIMEOUT.
    const reason = (err as Error).message;
    await createReporter({ callbackUrl: task.callbackUrl, token: task.token, ca: task.ca, log })
      .send({ step: 'start', status: 'failed', failed_step: 'start', reason })
      .catch(() => {});
    process.stderr.write(`reef agent: ${reason}\n`);
    process.exit(1);
  }
  if (values['apply-access']) {
    try {
      for (const line of await applyMaintenanceAccess(task.recipe.maintenance_access, values['system-root'] ?? '/')) log(JSON.stringify({ level: 'info', message: `maintenance access: ${line}` }));
    } catch (err) {
      // Debug access is a convenience: the install goes on without it.
      log(JSON.stringify({ level: 'warn', message: (err as Error).message }));
    }
  }
  if (values['print-target']) {
    process.stdout.write(`${task.recipe.task_target}\n`);
    return;
  }
  const reporter = createReporter({ callbackUrl: values['dry-run'] ? null : task.callbackUrl, token: task.token, ca: task.ca, log });
  if (!task.callbackUrl) log(JSON.stringify({ level: 'warn', message: `no controller to report to (task from ${task.source}); events go to this output only` }));
  const ctx: AgentContext = {
    task,
    // /dev/disk/by-id/… names the same disk as /dev/sda: the kernel name is what mounts and partitions use.
    disk: kernelName(values.disk ?? task.recipe.target_disk),
    run: values['dry-run'] ? createDryRunner(log) : createRunner(log),
    log,
    reporter,
    mountRoot: values['mount-root'] ?? '/run/reef/mnt',
    scratchDir: values.scratch ?? join(tmpdir(), 'reef-agent'),
    ...(registryAuth ? { registryAuth } : {}),
    ...(values['plain-http'] ? { plainHttp: true } : {}),
    ...(values.registry ? { registry: values.registry } : {}),
  };

  if (values['report-failure'] !== undefined) {
    const unit = values['report-failure'];
    const step = /^reef-(?:linux-|windows-|prestage-)?(.+)\.service$/.exec(unit)?.[1] ?? unit;
    await reporter.send({ step, status: 'failed', failed_step: step, reason: `${unit} failed; see journalctl -u ${unit}` }).catch((err: Error) => log(JSON.stringify({ level: 'warn', message: err.message })));
    return;
  }

  let steps = plan;
  if (values.step !== undefined) {
    const one = plan.find((s) => s.name === values.step);
    if (!one) usage(`--step must be one of ${plan.map((s) => s.name).join(', ')} for ${task.recipe.task_target}`);
    steps = [one!];
  }
  // A run of the whole plan, or of its last step by the last unit, ends with the job's final status.
  const final = { succeeded: steps[steps.length - 1] === plan[plan.length - 1] };
  log(JSON.stringify({ level: 'info', message: `reef agent: ${task.recipe.task_target} on ${ctx.disk}${values['dry-run'] ? ' (dry run: nothing is changed)' : ''}`, job: task.jobId, steps: steps.map((s) => s.name) }));
  const outcome = await runSteps(ctx, steps, final);
  if (outcome.status === 'succeeded') {
    // The final report is delivered (runSteps flushed it): only now may the machine go away.
    if (final.succeeded && values['apply-after'] && !values['dry-run']) log(JSON.stringify({ level: 'info', message: await afterInstall(ctx.run, task.recipe.after) }));
    return;
  }
  if (outcome.status === 'rejected') {
    process.stderr.write(`reef agent: ${outcome.reason}\nreef agent: stopping without touching anything further (check the job's token, or whether it was canceled)\n`);
    process.exit(3);
  }
  process.stderr.write(`reef agent: step ${outcome.step} failed: ${outcome.reason}\n`);
  process.exit(1);
};

