import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildReef, spawnReef } from '../helpers/process.js';
import { openRequest, sleep } from '../registry/helpers/raw.js';

/**
 * Durations past what a Node timer holds (2^31-1 ms, 24.8 days) mean what they say: Node would
 * turn each into 1 ms, running GC without pause, cutting every upload and every shutdown at once.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'reef-long-'));
let reef: ChildReef;
beforeAll(async () => {
  reef = await spawnReef({
    REEF_DATA_DIR: dataDir,
    REGISTRY_GC_INTERVAL: '1000h',
    REGISTRY_GC_GRACE_PERIOD: '0s',
    REGISTRY_UPLOAD_TIMEOUT: '1000h',
    REGISTRY_DOWNLOAD_TIMEOUT: '400d',
    REEF_SHUTDOWN_GRACE: '1000h',
    REEF_BODY_TIMEOUT: '1000h',
  });
});
afterAll(() => {
  if (reef?.child.exitCode === null) reef.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

const gcRuns = async () => {
  const text = await (await fetch(`${reef.url}/metrics`)).text();
  return Number(/^registry_gc_duration_seconds_count (\d+)/m.exec(text)?.[1]);
};

describe('durations of months and years', () => {
  it('REGISTRY_GC_INTERVAL=1000h: no GC runs in the first seconds, and a blob pushed without its manifest yet stays', async () => {
    const blob = Buffer.from('a layer whose manifest is still on its way');
    const { createHash } = await import('node:crypto');
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const res = await fetch(`${reef.url}/v2/long/app/blobs/uploads/?digest=${digest}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: blob });
    expect(res.status).toBe(201);
    await sleep(1500);
    expect(await gcRuns()).toBe(0);
    expect((await fetch(`${reef.url}/v2/long/app/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);
  });

  it('REGISTRY_UPLOAD_TIMEOUT=1000h: an upload that pauses is not cut', async () => {
    const start = await fetch(`${reef.url}/v2/long/pause/blobs/uploads/`, { method: 'POST' });
    const location = new URL(start.headers.get('location')!, reef.url).toString();
    const held = openRequest(location, 'PATCH', { 'content-type': 'application/octet-stream', 'content-length': '20' });
    await held.write(Buffer.alloc(10, 1));
    await sleep(1500);
    held.end(Buffer.alloc(10, 2));
    expect((await held.response).status).toBe(202);
  });

  it('REEF_BODY_TIMEOUT=1000h: a document body sent in two parts is read, not cut after 1 ms', async () => {
    const recipe = JSON.stringify({ task_target: 'install-linux.target', target_disk: '/dev/sda', oci_url: 'reef.local/os/x:1', partitions: [{ mount: '/', size: '0', fstype: 'ext4' }] });
    const held = openRequest(`${reef.url}/api/v1/recipes?name=split`, 'POST', { 'content-type': 'application/json', 'content-length': String(recipe.length) });
    await held.write(Buffer.from(recipe.slice(0, 20)));
    await sleep(100);
    held.end(Buffer.from(recipe.slice(20)));
    expect((await held.response).status).toBe(201);
  });

  it('REEF_SHUTDOWN_GRACE=1000h: SIGTERM lets a request in flight finish, then exits', async () => {
    const start = await fetch(`${reef.url}/v2/long/shutdown/blobs/uploads/`, { method: 'POST' });
    const location = new URL(start.headers.get('location')!, reef.url).toString();
    const held = openRequest(location, 'PATCH', { 'content-type': 'application/octet-stream', 'content-length': '20' });
    await held.write(Buffer.alloc(10, 1));
    await sleep(200);
    reef.child.kill('SIGTERM');
    await sleep(1000);
    expect(reef.child.exitCode).toBeNull();
    held.end(Buffer.alloc(10, 2));
    expect((await held.response).status).toBe(202);
    expect(await reef.exited).toBe(0);
    expect(reef.output()).not.toMatch(/TimeoutOverflowWarning/);
  });
});
