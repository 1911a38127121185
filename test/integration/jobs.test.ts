import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { taskTokenOf } from '../helpers/iso.js';

const linux = JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8'));

let reef: TestReef;
beforeAll(async () => {
  reef = await startTestReef({ REEF_WEBHOOK_SECRET: 'my-shared-secret' });
  expect((await reef.json('POST', '/api/v1/recipes?name=ubuntu', linux)).status).toBe(201);
});
afterAll(async () => {
  await reef?.stop();
});

const newJob = async (serial: string, extra: Record<string, unknown> = {}) => {
  const r = await reef.json('POST', '/api/v1/jobs', { server_serial: serial, recipe_name: 'ubuntu', ...extra });
  expect(r.status).toBe(202);
  return r.body;
};

/** The bearer token only the task ISO carries, read out of the ISO itself. */
const tokenOf = async (job: { job_id: string }) => {
  const iso = Buffer.from(await (await reef.req(`/media/tasks/${job.job_id}/task.iso`)).arrayBuffer());
  return taskTokenOf(iso);
};

const report = (id: string, token: string | undefined, body: unknown) =>
  reef.json('POST', `/api/v1/jobs/${id}/events`, body, token ? { authorization: `Bearer ${token}` } : {});

describe('jobs', () => {
  it('creates a job (202), registers the unknown machine, refuses a second active job (409)', async () => {
    const job = await newJob('ABCD1234');
    expect(job).toMatchObject({ status: 'queued', server_serial: 'ABCD1234', recipe_name: 'ubuntu' });
    expect(job.job_id).toMatch(/^[0-9A-Z]{26}$/);
    expect(job.task_iso_url).toBe(`${reef.publicUrl}/media/tasks/${job.job_id}/task.iso`);
    expect(Date.parse(job.created_at)).toBeGreaterThan(0);
    expect((await reef.json('GET', '/api/v1/machines/ABCD1234')).status).toBe(200);
    const again = await reef.json('POST', '/api/v1/jobs', { server_serial: 'ABCD1234', recipe_name: 'ubuntu' });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain(job.job_id);
  });

  it('takes an inline recipe, or a MAC of a registered machine', async () => {
    const inline = await newJob('INLINE-1', { recipe_name: undefined, recipe: linux });
    expect(inline.recipe_name).toBeNull();
    expect(inline.recipe.partitions).toHaveLength(2);
    const m = await reef.json('POST', '/api/v1/machines', { serial: 'MAC-1', macs: ['52-54-00-AA-BB-01'], labels: { rack: 'r1' } });
    expect(m.status).toBe(201);
    expect(m.body.macs).toEqual(['52:54:00:aa:bb:01']);
    const byMac = await reef.json('POST', '/api/v1/jobs', { mac: '52:54:00:aa:bb:01', recipe_name: 'ubuntu' });
    expect(byMac.status).toBe(202);
    expect(byMac.body.server_serial).toBe('MAC-1');
  });

  it('rejects bad job bodies naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ recipe_name: 'ubuntu' }, 'server_serial'],
      [{ server_serial: 'X1' }, 'recipe'],
      [{ server_serial: 'X1', recipe_name: 'nope' }, 'recipe_name'],
      [{ server_serial: 'bad serial!', recipe_name: 'ubuntu' }, 'server_serial'],
      [{ server_serial: 'X1', recipe: { ...linux, partitions: [] } }, 'recipe.partitions'],
      [{ mac: '00:11:22:33:44:55', recipe_name: 'ubuntu' }, 'mac'],
      [{ server_serial: 'X1', recipe_name: 'ubuntu', priority: 1 }, 'priority'],
    ];
    for (const [body, field] of cases) {
      const r = await reef.json('POST', '/api/v1/jobs', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.details.map((d: any) => d.path)).toContain(field);
    }
  });

  it('404 for unknown jobs and machines', async () => {
    expect((await reef.json('GET', '/api/v1/jobs/01ZZZZZZZZZZZZZZZZZZZZZZZZ')).status).toBe(404);
    expect((await reef.json('GET', '/api/v1/jobs/not-an-id')).status).toBe(404);
    expect((await reef.json('POST', '/api/v1/jobs/01ZZZZZZZZZZZZZZZZZZZZZZZZ/cancel')).status).toBe(404);
    expect((await reef.json('GET', '/api/v1/machines/NOPE')).status).toBe(404);
    expect((await reef.req('/api/v1/machines/NOPE', { method: 'DELETE' })).status).toBe(404);
    expect((await reef.req('/media/tasks/01ZZZZZZZZZZZZZZZZZZZZZZZZ/task.iso')).status).toBe(404);
  });

  it('agent callbacks: token required, progress applied, delivery_id idempotent, final status', async () => {
    const job = await newJob('CB-1');
    const token = await tokenOf(job);
    const before = (await reef.json('GET', `/api/v1/jobs/${job.job_id}`)).body;

    for (const bad of [undefined, 'wrong-token', `${token}x`]) {
      const r = await report(job.job_id, bad, { step: 'partition', message: 'start' });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHORIZED');
    }
    // A token of another job does not open this one.
    const other = await newJob('CB-OTHER');
    expect((await report(job.job_id, await tokenOf(other), { step: 'x', message: 'y' })).status).toBe(401);
    expect((await reef.json('GET', `/api/v1/jobs/${job.job_id}`)).body).toEqual(before);

    const ev = { delivery_id: 'd-1', step: 'pull', message: 'pulling', bytes_done: 1024, bytes_total: 4096 };
    const first = await report(job.job_id, token, ev);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ ok: true, status: 'provisioning' });
    const dup = await report(job.job_id, token, ev);
    expect(dup.status).toBe(200);
    expect(dup.body).toMatchObject({ ok: true, idempotent: true });
    let got = (await reef.json('GET', `/api/v1/jobs/${job.job_id}`)).body;
    expect(got.status).toBe('provisioning');
    expect(got.progress).toEqual({ bytes_done: 1024, bytes_total: 4096 });
    expect(got.events.filter((e: any) => e.delivery_id === 'd-1')).toHaveLength(1);

    const bad = await report(job.job_id, token, { status: 'failed' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('failed_step');
    const fail = await report(job.job_id, token, { delivery_id: 'd-2', status: 'failed', failed_step: 'extract', reason: 'tar: short read' });
    expect(fail.body).toEqual({ ok: true, status: 'failed' });
    got = (await reef.json('GET', `/api/v1/jobs/${job.job_id}`)).body;
    expect(got).toMatchObject({ status: 'failed', failed_step: 'extract', reason: 'tar: short read' });
    expect(got.finished_at).not.toBeNull();
    expect(got.events.at(-1)).toMatchObject({ level: 'error', step: 'extract' });
    // A repeated final delivery is still idempotent; a new report on a finished job is refused.
    expect((await report(job.job_id, token, { delivery_id: 'd-2', status: 'failed', failed_step: 'extract' })).status).toBe(200);
    expect((await report(job.job_id, token, { step: 'late', message: 'late' })).status).toBe(409);
    // The machine is free for a new job.
    await newJob('CB-1');
  });

  it('cancel, then the agent is told the job is over', async () => {
    const job = await newJob('CANCEL-1');
    const c = await reef.json('POST', `/api/v1/jobs/${job.job_id}/cancel`);
    expect(c.status).toBe(200);
    expect(c.body.status).toBe('canceled');
    expect((await reef.json('POST', `/api/v1/jobs/${job.job_id}/cancel`)).status).toBe(409);
    expect((await report(job.job_id, await tokenOf(job), { step: 'pull', message: 'x' })).status).toBe(409);
  });

  it("Shoal's status webhook with X-Webhook-Secret", async () => {
    const job = await newJob('SHOAL-1');
    const body = { status: 'success', delivery_id: '1735840000-abc123-provision-success', task_target: 'install-linux.target', dispatcher_version: '1.0.0', schema_id: 'v1' };
    const wrong = await reef.json('POST', '/api/v1/status-webhook/SHOAL-1', body, { 'x-webhook-secret': 'nope' });
    expect(wrong.status).toBe(401);
    expect((await reef.json('GET', `/api/v1/jobs/${job.job_id}`)).body.status).toBe('queued');
    const ok = await reef.json('POST', '/api/v1/status-webhook/SHOAL-1', body, { 'x-webhook-secret': 'my-shared-secret' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true });
    const again = await reef.json('POST', '/api/v1/status-webhook/SHOAL-1', body, { 'x-webhook-secret': 'my-shared-secret' });
    expect(again.status).toBe(404); // the job is finished, as Shoal's contract says
    expect((await reef.json('GET', `/api/v1/jobs/${job.job_id}`)).body.status).toBe('succeeded');
  });

  it('lists with filters and cursor pagination', async () => {
    for (let i = 0; i < 5; i++) await newJob(`PAGE-${i}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/api/v1/jobs?status=queued&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await reef.json('GET', q)).body;
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const j of page.items) {
        expect(j.status).toBe('queued');
        seen.push(j.job_id);
      }
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort().reverse());
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(5);
    const one = (await reef.json('GET', '/api/v1/jobs?serial=PAGE-3')).body.items;
    expect(one).toHaveLength(1);
    expect(one[0].server_serial).toBe('PAGE-3');
    const bad = await reef.json('GET', '/api/v1/jobs?limit=0&status=done');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: any) => d.path).sort()).toEqual(['limit', 'status']);
  });

  it('200 concurrent job creations for distinct machines all get 202', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => reef.json('POST', '/api/v1/jobs', { server_serial: `CONC-${i}`, recipe_name: 'ubuntu' })),
    );
    expect(results.map((r) => r.status).filter((s) => s !== 202)).toEqual([]);
    expect(new Set(results.map((r) => r.body.job_id)).size).toBe(200);
    const listed = (await reef.json('GET', '/api/v1/jobs?limit=500')).body.items.filter((j: any) => j.server_serial.startsWith('CONC-'));
    expect(listed).toHaveLength(200);
  });

  it('machines: register, update, MAC conflict, delete guarded by active job', async () => {
    expect((await reef.json('POST', '/api/v1/machines', { serial: 'M-1', macs: ['aa:bb:cc:dd:ee:01'] })).status).toBe(201);
    expect((await reef.json('POST', '/api/v1/machines', { serial: 'M-1', labels: { site: 'x' } })).status).toBe(200);
    const clash = await reef.json('POST', '/api/v1/machines', { serial: 'M-2', macs: ['aa:bb:cc:dd:ee:01'] });
    expect(clash.status).toBe(409);
    expect((await reef.json('POST', '/api/v1/machines', { serial: 'M-3', macs: ['zz'] })).body.error.details[0].path).toBe('macs[0]');
    const job = await newJob('M-1');
    expect((await reef.req('/api/v1/machines/M-1', { method: 'DELETE' })).status).toBe(409);
    await reef.json('POST', `/api/v1/jobs/${job.job_id}/cancel`);
    expect((await reef.req('/api/v1/machines/M-1', { method: 'DELETE' })).status).toBe(204);
    expect((await reef.json('GET', `/api/v1/jobs/${job.job_id}`)).status).toBe(404);
  });
});
