import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { taskTokenOf } from '../../helpers/iso.js';
import { runReef } from '../../helpers/process.js';
import type { TestReef } from '../../helpers/server.js';
import { sh } from './disk.js';

/** Posts a job and writes its task (the task ISO's files, fetched with the job's token from GET /jobs/{id}/task) to `dir`. */
export const jobWithTask = async (reef: TestReef, serial: string, recipe: unknown, dir: string) => {
  const created = await reef.json('POST', '/api/v1/jobs', { server_serial: serial, recipe });
  if (created.status !== 202) throw new Error(`job: ${created.status} ${JSON.stringify(created.body)}`);
  const jobId = created.body.job_id as string;
  const iso = Buffer.from(await (await reef.req(`/media/tasks/${jobId}/task.iso`)).arrayBuffer());
  const token = taskTokenOf(iso);
  const task = await reef.json('GET', `/api/v1/jobs/${jobId}/task`, undefined, { authorization: `Bearer ${token}` });
  if (task.status !== 200) throw new Error(`task: ${task.status} ${JSON.stringify(task.body)}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(task.body.files as Record<string, string>)) writeFileSync(join(dir, name), text);
  return { jobId, token, dir };
};

export const runAgent = async (args: string[], work: string, env: Record<string, string> = {}) => {
  const agent = runReef(['agent', ...args, '--mount-root', join(work, 'mnt'), '--scratch', join(work, 'scratch')], env);
  const code = await agent.exited;
  return { code, output: agent.output() };
};

/** sha256 of the first and last MiB of a device: enough to tell whether anything wrote a partition table or filesystem. */
export const diskFingerprint = (dev: string, size: number): string => {
  const h = createHash('sha256');
  const fd = openSync(dev, 'r');
  const buf = Buffer.alloc(1024 * 1024);
  for (const pos of [0, size - buf.length]) {
    readSync(fd, buf, 0, buf.length, pos);
    h.update(buf);
  }
  closeSync(fd);
  return h.digest('hex');
};

/** Unmounts what the test mounted, detaches the disk, stops reef and removes the work directory. */
export const teardown = async (o: { mounts?: string[]; disk?: { detach(): Promise<void> }; reef?: TestReef; dir?: string }) => {
  for (const m of o.mounts ?? []) await sh('umount', [m]).catch(() => {});
  await o.disk?.detach();
  await o.reef?.stop();
  if (o.dir) rmSync(o.dir, { recursive: true, force: true });
};

/** `reef push <reef host>/<ref> <file>` as a user would run it; fails the test with the CLI's output. */
export const pushToReef = async (reef: TestReef, ref: string, file: string, extra: string[] = []) => {
  const ca = reef.url.startsWith('https:') ? ['--ca', join(reef.dataDir, 'tls', 'ca.crt')] : [];
  const p = runReef(['push', `${reef.url.replace(/^https?:\/\//, '')}/${ref}`, file, ...ca, ...extra], {});
  const code = await p.exited;
  if (code !== 0) throw new Error(`reef push ${ref} exited ${code}:\n${p.output()}`);
};

/** Asserts the agent run and its job succeeded with each step started; returns the job's event messages. */
export const succeededWithSteps = async (reef: TestReef, jobId: string, agent: { code: number | null; output: string }, steps: string[]) => {
  if (agent.code !== 0) throw new Error(`agent exited ${agent.code}:\n${agent.output}`);
  const { body } = await reef.json('GET', `/api/v1/jobs/${jobId}`);
  if (body.status !== 'succeeded') throw new Error(`job ${jobId} is ${body.status}: ${body.reason}`);
  const messages: string[] = body.events.map((e: { message: string }) => e.message);
  const missing = steps.filter((s) => !messages.includes(`${s}: started`));
  if (missing.length) throw new Error(`no "started" event for ${missing.join(', ')}`);
  return { messages, events: body.events as { message: string; bytes_done: number | null; bytes_total: number | null }[] };
};
