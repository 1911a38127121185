import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskTokenOf } from '../helpers/iso.js';
import { startTestReef, type TestReef } from '../helpers/server.js';

/** A job's timeline is paged, the job view carries its latest events, and no agent grows one job without end. */
const linux = JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8'));
let reef: TestReef;
beforeAll(async () => {
  reef = await startTestReef({ REEF_JOB_MAX_EVENTS: '300' });
  expect((await reef.json('POST', '/api/v1/recipes?name=ubuntu', linux)).status).toBe(201);
});
afterAll(async () => reef?.stop());

const newJob = async (serial: string) => {
  const job = (await reef.json('POST', '/api/v1/jobs', { server_serial: serial, recipe_name: 'ubuntu' })).body;
  const token = taskTokenOf(Buffer.from(await (await reef.req(`/media/tasks/${job.job_id}/task.iso`)).arrayBuffer()));
  return { id: job.job_id as string, token };
};
const report = (job: { id: string; token: string }, body: unknown) =>
  reef.json('POST', `/api/v1/jobs/${job.id}/events`, body, { authorization: `Bearer ${job.token}` });

describe('job events', () => {
  it('the job view carries the latest 100 and the total; /events pages the whole timeline in order', async () => {
    const job = await newJob('EVENTS-1');
    for (let i = 0; i < 250; i++) expect((await report(job, { step: 'pull', message: `chunk ${i}`, bytes_done: i, bytes_total: 250 })).status).toBe(200);
    const view = (await reef.json('GET', `/api/v1/jobs/${job.id}`)).body;
    expect(view.events_total).toBe(251);
    expect(view.events).toHaveLength(100);
    expect(view.events.at(-1).message).toBe('chunk 249');
    expect(view.events[0].message).toBe('chunk 150');

    const seen: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: any = await reef.json('GET', `/api/v1/jobs/${job.id}/events?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items);
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(251);
    expect(seen[0].message).toMatch(/^job queued/);
    expect(seen.slice(1).map((e) => e.message)).toEqual(Array.from({ length: 250 }, (_, i) => `chunk ${i}`));
    const ids = seen.map((e) => e.event_id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  });

  it('names the field for a bad cursor or limit, and 404s an unknown job', async () => {
    const job = await newJob('EVENTS-2');
    const bad = await reef.json('GET', `/api/v1/jobs/${job.id}/events?cursor=abc`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('cursor');
    const zero = await reef.json('GET', `/api/v1/jobs/${job.id}/events?limit=0`);
    expect(zero.status).toBe(400);
    expect(zero.body.error.details[0].path).toBe('limit');
    expect((await reef.json('GET', '/api/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/events')).status).toBe(404);
  });

  it('past REEF_JOB_MAX_EVENTS progress still moves the job but adds no event, and the final status is kept', async () => {
    const job = await newJob('EVENTS-3');
    for (let i = 0; i < 299; i++) await report(job, { step: 'pull', message: `p ${i}`, bytes_done: i, bytes_total: 1000 });
    const over = await report(job, { step: 'extract', message: 'past the cap', bytes_done: 999, bytes_total: 1000 });
    expect(over.body).toEqual({ ok: true, status: 'provisioning', event_stored: false });
    let view = (await reef.json('GET', `/api/v1/jobs/${job.id}`)).body;
    expect(view.events_total).toBe(300);
    expect(view.step).toBe('extract');
    expect(view.progress).toEqual({ bytes_done: 999, bytes_total: 1000 });
    expect((await report(job, { status: 'succeeded', step: 'done' })).body).toEqual({ ok: true, status: 'succeeded' });
    view = (await reef.json('GET', `/api/v1/jobs/${job.id}`)).body;
    expect(view.status).toBe('succeeded');
    expect(view.events_total).toBe(301);
    expect(view.events.at(-1).message).toBe('provisioning succeeded');
  });
});
