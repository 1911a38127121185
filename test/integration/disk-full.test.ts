import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireAvailable } from '../helpers/tools.js';

const linux = JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8'));
const isRoot = process.getuid?.() === 0;

describe('a full disk under the media directory', () => {
  let reef: TestReef;
  let mnt: string;
  beforeAll(async () => {
    if (!requireAvailable('root (to mount a small tmpfs)', isRoot)) return;
    reef = await startTestReef();
    mnt = join(reef.dataDir, 'media', 'tasks');
    mkdirSync(mnt, { recursive: true });
    // 96 KiB: room for one task ISO (~52 KiB), not two.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', mnt]);
  });
  afterAll(async () => {
    if (!reef) return;
    // Close the server first (it may still be closing a file on the mount: "target is busy"),
    // then unmount, then remove the data directory (stop() would fail on the mount point).
    await reef.close();
    for (let attempt = 1; ; attempt++) {
      try {
        execFileSync('umount', [mnt], { stdio: 'pipe' });
        break;
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    rmSync(reef.dataDir, { recursive: true, force: true });
  });

  it.skipIf(!isRoot)('answers 507 naming the problem, leaves no job and no partial file', async () => {
    const first = await reef.json('POST', '/api/v1/jobs', { server_serial: 'FULL-1', recipe: linux });
    expect(first.status).toBe(202);
    const second = await reef.json('POST', '/api/v1/jobs', { server_serial: 'FULL-2', recipe: linux });
    expect(second.status).toBe(507);
    expect(second.body.error.code).toBe('STORAGE_FULL');
    expect(second.body.error.message).toMatch(/no space left/);
    // Nothing half-made: no job for FULL-2, no temp file, the first ISO intact.
    expect((await reef.json('GET', '/api/v1/jobs?serial=FULL-2')).body.items).toEqual([]);
    const dirs = readdirSync(mnt);
    expect(dirs).toEqual([first.body.job_id]);
    expect(readdirSync(join(mnt, first.body.job_id))).toEqual(['task.iso']);
    expect((await reef.req(`/media/tasks/${first.body.job_id}/task.iso`)).status).toBe(200);
  });
});
