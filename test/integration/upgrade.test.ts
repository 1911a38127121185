import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';

/**
 * A data directory written by an older reef (test/fixtures/make-datadir.ts, run at the commit
 * named in the .json beside it: migrations up to 0001) is opened by this code: the newer
 * migrations apply on top, and what the operator had is still served.
 */
const FIXTURE = 'test/fixtures/datadir-0001';
const expected = JSON.parse(readFileSync(`${FIXTURE}.json`, 'utf8'));
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('a data dir written by reef before the layout change', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reef-upgrade-'));
  let reef: TestReef;
  beforeAll(async () => {
    execFileSync('tar', ['-C', dataDir, '-xzf', `${FIXTURE}.tar.gz`]);
    reef = await startTestReef({}, dataDir);
  });
  afterAll(async () => {
    await reef?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('still serves its recipe and its job with the reported event', async () => {
    const recipe = await reef.json('GET', `/api/v1/recipes/${expected.recipe_name}`);
    expect(recipe.status).toBe(200);
    expect(recipe.body).toMatchObject({ name: 'ubuntu', normalized: { target_disk: '/dev/sda', oci: { repository: 'os-images/ubuntu-rootfs' } } });
    const job = await reef.json('GET', `/api/v1/jobs/${expected.job_id}`);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({ server_serial: expected.serial, recipe_name: 'ubuntu', status: 'provisioning', step: 'pull', progress: { bytes_done: 10, bytes_total: 100 } });
    expect(job.body.events.map((e: any) => e.delivery_id)).toContain(expected.event.delivery_id);
  });

  it('serves the same task ISO bytes, and the token in it still authenticates the agent', async () => {
    const res = await reef.req(`/media/tasks/${expected.job_id}/task.iso`);
    expect(res.status).toBe(200);
    const iso = Buffer.from(await res.arrayBuffer());
    expect(sha256(iso)).toBe(expected.task_iso_sha256);
    const token = /"token": "([^"]+)"/.exec(iso.toString('latin1'))![1]!;
    const ev = await reef.json('POST', `/api/v1/jobs/${expected.job_id}/events`, { delivery_id: 'after-upgrade', step: 'partition', message: 'partitioning' }, { authorization: `Bearer ${token}` });
    expect(ev.status).toBe(200);
  });

  it('still serves the tag, the manifest and every blob from its registry', async () => {
    const tags = await reef.json('GET', `/v2/${expected.repo}/tags/list`);
    expect(tags.body).toEqual({ name: expected.repo, tags: [expected.tag] });
    const manifest = await reef.req(`/v2/${expected.repo}/manifests/${expected.tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(expected.manifest_digest);
    expect(sha256(Buffer.from(await manifest.arrayBuffer()))).toBe(expected.manifest_digest);
    for (const digest of expected.blobs) {
      const blob = await reef.req(`/v2/${expected.repo}/blobs/${digest}`);
      expect(blob.status).toBe(200);
      expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(digest);
    }
  });
});
