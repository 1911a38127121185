import { buildIso, type IsoFile } from '../../formats/iso9660/writer.js';
import { certFingerprint } from '../../lib/cert-fingerprint.js';
import type { TaskIsoInput } from '../jobs/job-service.js';

const text = (s: string) => Buffer.from(s, 'utf8');

/**
 * The task ISO of a job (DESIGN §4): volume id TASK_<job id>; recipe.json (the normalised
 * recipe); task.json (what the agent needs to call back: controller URL, job id, token, and the
 * site CA's fingerprint); ca.crt (the site CA the agent verifies the controller with, DESIGN §9);
 * NoCloud user-data + meta-data when cloud-init applies; unattend.xml for Windows. Built in
 * memory (a few KiB), deterministic for a given job.
 */
export const taskIsoFiles = ({ job, token, controllerUrl, caPem }: TaskIsoInput): IsoFile[] => {
  const r = job.recipe;
  const task = {
    schema_version: 'v1',
    job_id: job.id,
    server_serial: job.serial,
    task_target: r.task_target,
    controller_url: controllerUrl,
    callback_url: `${controllerUrl}/api/v1/jobs/${job.id}/events`,
    token,
    // The controller's own registry serves plain HTTP when the controller does (DESIGN §5).
    insecure_registries: controllerUrl.startsWith('http://') ? [new URL(controllerUrl).host] : [],
    ...(caPem !== undefined ? { ca_fingerprint: certFingerprint(caPem, 'the site CA') } : {}),
    created_at: new Date(job.createdAt).toISOString(),
  };
  const files: IsoFile[] = [
    { name: 'recipe.json', data: text(`${JSON.stringify(r, null, 2)}\n`) },
    { name: 'task.json', data: text(`${JSON.stringify(task, null, 2)}\n`) },
    ...(caPem !== undefined ? [{ name: 'ca.crt', data: text(caPem.endsWith('\n') ? caPem : `${caPem}\n`) }] : []),
  ];
  if (r.user_data !== null) {
    const meta = [`instance-id: ${job.id.toLowerCase()}`, ...(r.hostname ? [`local-hostname: ${r.hostname}`] : [])];
    files.push({ name: 'user-data', data: text(r.user_data.endsWith('\n') ? r.user_data : `${r.user_data}\n`) });
    files.push({ name: 'meta-data', data: text(`${meta.join('\n')}\n`) });
  }
  if (r.unattend_xml !== null) files.push({ name: 'unattend.xml', data: text(r.unattend_xml) });
  if (Object.keys(r.env).length > 0) {
    const lines = Object.entries(r.env).map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'`);
    files.push({ name: 'env', data: text(`${lines.join('\n')}\n`) });
  }
  return files;
};

export const buildTaskIso = (input: TaskIsoInput): Uint8Array =>
  buildIso({
    volumeId: `TASK_${input.job.id}`,
    files: taskIsoFiles(input),
    time: new Date(input.job.createdAt),
    systemId: 'LINUX',
    applicationId: 'REEF TASK',
    publisherId: 'REEF',
  });
