import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChildReef, spawnReef } from '../helpers/process.js';

const linux = JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8'));
const dataDir = mkdtempSync(join(tmpdir(), 'reef-restart-'));
const started: ChildReef[] = [];
afterAll(() => {
  for (const r of started) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('jobs, events and ISOs survive kill -9', () => {
  it('kill -9 between two requests loses nothing that was answered', async () => {
    const a = await spawnReef({ REEF_DATA_DIR: dataDir });
    started.push(a);
    expect((await post(a.url, '/api/v1/recipes?name=ubuntu', linux)).status).toBe(201);
    const job = (await (await post(a.url, '/api/v1/jobs', { server_serial: 'KILL-1', recipe_name: 'ubuntu' })).json()) as any;
    const iso = Buffer.from(await (await fetch(`${a.url}/media/tasks/${job.job_id}/task.iso`)).arrayBuffer());
    const token = /"token": "([^"]+)"/.exec(iso.toString('latin1'))![1]!;
    const ev = await post(a.url, `/api/v1/jobs/${job.job_id}/events`, { delivery_id: 'k-1', step: 'pull', message: 'pulling', bytes_done: 10, bytes_total: 100 }, { authorization: `Bearer ${token}` });
    expect(ev.status).toBe(200);

    a.child.kill('SIGKILL');
    expect(await a.exited).toBeNull();

    const b = await spawnReef({ REEF_DATA_DIR: dataDir });
    started.push(b);
    const got = (await (await fetch(`${b.url}/api/v1/jobs/${job.job_id}`)).json()) as any;
    expect(got).toMatchObject({ status: 'provisioning', step: 'pull', progress: { bytes_done: 10, bytes_total: 100 }, recipe_name: 'ubuntu' });
    expect(got.events.map((e: any) => e.delivery_id)).toContain('k-1');
    expect((await (await fetch(`${b.url}/api/v1/recipes/ubuntu`)).json()) as any).toMatchObject({ name: 'ubuntu' });
    // The same ISO bytes are served, and the token in it still authenticates (secret persisted).
    expect(Buffer.from(await (await fetch(`${b.url}/media/tasks/${job.job_id}/task.iso`)).arrayBuffer()).equals(iso)).toBe(true);
    const dup = await post(b.url, `/api/v1/jobs/${job.job_id}/events`, { delivery_id: 'k-1', step: 'pull', message: 'pulling' }, { authorization: `Bearer ${token}` });
    expect(await dup.json()).toMatchObject({ ok: true, idempotent: true });
    // The one-active-job rule holds across the restart.
    expect((await post(b.url, '/api/v1/jobs', { server_serial: 'KILL-1', recipe_name: 'ubuntu' })).status).toBe(409);

    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  });
});
