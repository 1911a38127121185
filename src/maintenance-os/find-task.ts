import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IsoFormatError, listDirectory, readEntry, readVolume } from '../formats/iso9660/reader.js';
import { createControllerFetch, withBackoff } from './controller-http.js';
import { fetchControllerCa, pinnedFingerprint, settleTrust } from './controller-trust.js';
import { StepError } from './exec.js';
import { isMounted, mountTable } from './mounts.js';
import { parseCmdline, readTaskDir, readTaskPath, TASK_FILES, type Task, type TaskFiles, taskFromFiles } from './task.js';

const run = promisify(execFile);

/** The files of a task ISO image (its root directory, by Rock Ridge name), read by positioned reads: no mount, no tools. */
export const readIsoFiles = async (iso: string): Promise<TaskFiles> => {
  const fh = await open(iso, 'r');
  try {
    const vol = await readVolume(fh);
    const files: TaskFiles = {};
    for (const entry of await listDirectory(fh, vol, vol.root)) {
      const name = entry.rrName ?? entry.name.toLowerCase();
      if (!entry.directory && TASK_FILES.has(name)) files[name] = (await readEntry(fh, vol, entry, 16 * 1024 * 1024)).toString('utf8');
    }
    return files;
  } catch (err) {
    if (err instanceof IsoFormatError) throw new StepError(`cannot read the task ISO ${iso}: ${err.message}`);
    throw err;
  } finally {
    await fh.close();
  }
};

/**
 * Fetches the task from the controller (kernel command line boot: reef.controller=, reef.job=,
 * reef.token=); over HTTPS verified against `ca` when given. Network errors and 5xx are retried
 * with backoff; a refusal or a certificate that does not verify ends it at once.
 */
export const fetchTask = async (controller: string, job: string, token: string, ca: string | null = null): Promise<Task> => {
  const url = `${controller.replace(/\/+$/, '')}/api/v1/jobs/${encodeURIComponent(job)}/task`;
  const get = createControllerFetch(ca);
  const task = await withBackoff(`cannot fetch the task from ${url}`, async () => {
    const res = await get(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (res.ok) return taskFromFiles((JSON.parse(text) as { files: TaskFiles }).files, url);
    if (res.status < 500 && res.status !== 429) throw new StepError(`the controller refused the task at ${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
    throw new Error(`HTTP ${res.status}`);
  });
  return { ...task, ca: task.ca ?? ca };
};

/** A mounted filesystem labelled TASK_* (the task ISO attached as virtual media), or one we mount read-only. */
const findTaskMedia = async (): Promise<string | null> => {
  const byLabel = '/dev/disk/by-label';
  const labelled = existsSync(byLabel) ? readdirSync(byLabel).find((l) => l.startsWith('TASK_')) : undefined;
  let dev = labelled ? join(byLabel, labelled) : undefined;
  if (!dev) {
    const out = await run('blkid', ['-t', 'TYPE=iso9660', '-o', 'export']).then((r) => r.stdout, () => '');
    const block = out.split('\n\n').find((b) => /^LABEL=TASK_/m.test(b));
    dev = block ? /^DEVNAME=(.+)$/m.exec(block)?.[1] : undefined;
  }
  if (!dev) return null;
  const real = realpathSync(dev);
  const mounted = mountTable().find((m) => m.source === dev || m.source === real);
  if (mounted) return mounted.target;
  const target = '/run/reef/task';
  if (isMounted(target)) return target; // mounted by an earlier step of this boot
  await mkdir(target, { recursive: true });
  await run('mount', ['-o', 'ro', dev, target]);
  return target;
};

/** The task from --task, else the kernel command line, else a TASK_* medium (its CA not checked yet). */
const locateTask = async (opts: { task?: string; cmdlineFile: string }, cmdline: ReturnType<typeof parseCmdline>, pin: string | null): Promise<Task> => {
  if (opts.task) return readTaskPath(opts.task, readIsoFiles);
  if (cmdline.controller && cmdline.job && cmdline.token) {
    // With a pin, the controller's CA first (checked against the pin), then the task verified with it; never a pinned controller over plain HTTP.
    if (pin !== null && !cmdline.controller.startsWith('https://')) {
      throw new StepError(`the kernel command line pins a controller CA (reef.ca=${pin}) but the controller ${cmdline.controller} is not reached over HTTPS; refusing to talk to it unverified`);
    }
    const ca = pin !== null ? await fetchControllerCa(cmdline.controller, pin) : null;
    return fetchTask(cmdline.controller, cmdline.job, cmdline.token, ca);
  }
  if (cmdline.controller || cmdline.job || cmdline.token) {
    const missing = ['controller', 'job', 'token'].filter((k) => !cmdline[k as keyof typeof cmdline]).map((k) => `reef.${k}=`);
    throw new StepError(`the kernel command line names a reef task but lacks ${missing.join(', ')}`);
  }
  const dir = await findTaskMedia();
  if (dir) return readTaskDir(dir);
  throw new StepError(`no task: give --task <dir|iso|recipe.json>, boot with reef.controller= reef.job= reef.token= on the kernel command line (${opts.cmdlineFile}), or attach the task ISO (label TASK_*)`);
};

/**
 * Finds the task: --task, else the kernel command line, else a TASK_* medium; then settles the
 * CA its calls to the controller trust (controller-trust.ts), checked against the kernel command
 * line's reef.ca= pin when there is one.
 */
export const findTask = async (opts: { task?: string; cmdlineFile: string }): Promise<Task> => {
  const cmdline = existsSync(opts.cmdlineFile) ? parseCmdline(readFileSync(opts.cmdlineFile, 'utf8')) : {};
  const pin = pinnedFingerprint(cmdline.ca);
  return settleTrust(await locateTask(opts, cmdline, pin), pin);
};
