import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLiveIso } from '../../helpers/live-iso.js';
import { requireTool } from '../../helpers/tools.js';
import { expect } from 'vitest';
import { taskTokenOf } from '../../helpers/iso.js';
import type { TestReef } from '../../helpers/server.js';
import { client, pushBlob, pushImage, pushManifest } from '../../registry/helpers/client.js';
import { artifactManifest, descriptorOf, EMPTY, MT } from '../../registry/helpers/oci.js';

export interface SeededJob {
  id: string;
  /** The job's callback token (read from its task ISO, as the agent does). */
  token: string;
}

export interface Seeded {
  jobs: SeededJob[];
  repo: string;
}

/** Posts an agent's report for a job, as the maintenance OS does. */
export const report = async (reef: TestReef, job: SeededJob, body: Record<string, unknown>) => {
  const r = await reef.json('POST', `/api/v1/jobs/${job.id}/events`, body, { authorization: `Bearer ${job.token}` });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
};

/**
 * Real data through the real API: recipes from recipes/, machines, jobs in each state, an image
 * with a referrer and an untagged one in the registry (something for GC to find).
 * `headers` carries the admin token when the reef runs with REEF_API_AUTH=token.
 */
export const seed = async (reef: TestReef, headers: Record<string, string> = {}): Promise<Seeded> => {
  const ok = async (method: string, path: string, body: unknown, want: number) => {
    const r = await reef.json(method, path, body, headers);
    expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(want);
    return r.body;
  };
  await ok('POST', '/api/v1/recipes?name=ubuntu', JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8')), 201);
  await ok('POST', '/api/v1/recipes?name=windows', JSON.parse(readFileSync('recipes/windows-server.json', 'utf8')), 201);
  for (let i = 1; i <= 4; i++) await ok('POST', '/api/v1/machines', { serial: `RACK1-${i}`, macs: [`52:54:00:00:00:0${i}`], labels: { rack: '1' } }, 201);
  const jobs: SeededJob[] = [];
  for (let i = 1; i <= 4; i++) {
    const job = await ok('POST', '/api/v1/jobs', { server_serial: `RACK1-${i}`, recipe_name: i === 4 ? 'windows' : 'ubuntu' }, 202);
    const iso = Buffer.from(await (await reef.req(`/media/tasks/${job.job_id}/task.iso`)).arrayBuffer());
    jobs.push({ id: job.job_id, token: taskTokenOf(iso) });
  }
  await report(reef, jobs[1]!, { step: 'partition', message: 'disk partitioned' });
  await report(reef, jobs[2]!, { step: 'pull', bytes_done: 100, bytes_total: 100 });
  await report(reef, jobs[2]!, { status: 'succeeded' });
  await report(reef, jobs[3]!, { status: 'failed', failed_step: 'mkfs', reason: 'mkfs.ntfs: device busy' });

  const auth = headers.authorization;
  const f = client(reef.url);
  const authed: typeof f = auth ? (path, init) => f(path, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: auth } }) : f;
  const repo = 'os-images/ubuntu-rootfs';
  const image = await pushImage(authed, reef.url, repo, '22.04');
  await pushBlob(authed, reef.url, repo, EMPTY);
  const sbom = artifactManifest('application/vnd.example.sbom', [descriptorOf(image.layers[0]!, MT.ociLayer)], { subject: descriptorOf(image.manifest, MT.ociManifest) });
  expect((await pushManifest(authed, repo, sbom.digest, sbom)).status).toBe(201);
  // A base live ISO (xorriso) and one ISO generated from it, for the ISOs page.
  if (requireTool('xorriso')) {
    const dir = mkdtempSync(join(tmpdir(), 'reef-ui-iso-'));
    try {
      const base = buildLiveIso(dir, 'igninfo', 256 * 1024);
      const put = await reef.req('/api/v1/isos/bases/rhcos-live', { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: readFileSync(base.path) });
      expect(put.status).toBe(201);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await ok('POST', '/api/v1/isos', { base: 'rhcos-live', ignition: { ignition: { version: '3.2.0' } } }, 201);
  }
  // An image whose tag is then deleted: its blobs are what GC finds.
  await pushImage(authed, reef.url, 'scratch/old', 'gone');
  expect((await authed(`/v2/scratch/old/manifests/gone`, { method: 'DELETE' })).status).toBe(202);
  return { jobs, repo };
};
