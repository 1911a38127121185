/**
 * reef's whole data directory (SQLite, task ISOs, registry) on a disk with 0 bytes free: every
 * write answers 507 with a message saying what to do, database writes included, and the operator
 * gets the space back with reef's own API: delete tags, POST /admin/gc.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireAvailable } from '../helpers/tools.js';
import { client, type Fetch, pushBlob, pushImage } from '../registry/helpers/client.js';
import { randomBlob } from '../registry/helpers/oci.js';

const isRoot = process.getuid?.() === 0;
const linux = JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8'));

describe('a data directory with 0 bytes free', () => {
  let reef: TestReef;
  let f: Fetch;
  let dataDir: string;
  const free = () => statfsSync(dataDir).bavail * statfsSync(dataDir).bsize;
  beforeAll(async () => {
    if (!requireAvailable('root (to mount a small tmpfs)', isRoot)) return;
    dataDir = mkdtempSync(join(tmpdir(), 'reef-zero-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dataDir]);
    reef = await startTestReef({ REGISTRY_GC_GRACE_PERIOD: '0s', REGISTRY_GC_INTERVAL: '24h', REEF_SPACE_RESERVE: String(1024 * 1024) }, dataDir);
    f = client(reef.url);
  });
  afterAll(async () => {
    if (!reef) return;
    await reef.stop();
    execFileSync('umount', [dataDir]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.skipIf(!isRoot)('answers 507 to every write, and tag deletion plus GC give the space back', async () => {
    expect((await reef.json('POST', '/api/v1/recipes?name=before', linux)).status).toBe(201);
    await pushImage(f, reef.url, 'zero/app', 'v1', 2);
    const big = await pushBlob(f, reef.url, 'zero/app', randomBlob(6 * 1024 * 1024));
    expect((await f(`/v2/zero/app/blobs/${big.digest}`, { method: 'HEAD' })).status).toBe(200);
    // Fill what is left, to the last byte.
    spawnSync('dd', ['if=/dev/zero', `of=${join(dataDir, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
    spawnSync('dd', ['if=/dev/zero', `of=${join(dataDir, 'filler2')}`, 'bs=512'], { stdio: 'ignore' });
    expect(free()).toBe(0);

    const recipe = await reef.json('POST', '/api/v1/recipes?name=after', linux);
    expect(recipe.status).toBe(507);
    expect(recipe.body.error.code).toBe('STORAGE_FULL');
    expect(recipe.body.error.message).toMatch(/no space left/);
    const job = await reef.json('POST', '/api/v1/jobs', { server_serial: 'ZERO-1', recipe_name: 'before' });
    expect(job.status).toBe(507);
    const blob = await f(`/v2/zero/app/blobs/uploads/?digest=${randomBlob().digest}`, { method: 'POST', body: randomBlob().bytes });
    expect([507, 400]).toContain(blob.status); // 507; a digest mismatch would be 400, never a 500
    expect(blob.status).toBe(507);
    const up = await f('/v2/zero/other/blobs/uploads/', { method: 'POST' });
    expect(up.status).toBe(507);
    expect(((await up.json()) as any).errors[0].code).toBe('STORAGE_FULL');
    // Reads still work.
    expect((await f('/v2/zero/app/tags/list')).status).toBe(200);

    // The operator's way out, with reef's own API.
    expect((await f('/v2/zero/app/manifests/v1', { method: 'DELETE' })).status).toBe(202);
    const gc = await reef.json('POST', '/admin/gc');
    expect(gc.status).toBe(200);
    expect(gc.body.bytes_freed).toBeGreaterThanOrEqual(6 * 1024 * 1024);
    expect(free()).toBeGreaterThan(4 * 1024 * 1024);
    expect((await reef.json('POST', '/api/v1/recipes?name=after', linux)).status).toBe(201);
  });
});
