import { Hono } from 'hono';
import { readDocument, readOptionalJson } from '../../http/body.js';
import type { AppEnv } from '../../http/env.js';
import type { JobService } from './job-service.js';

const bearer = (header: string | undefined): string | undefined => {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
};

export const createJobRoutes = (jobs: JobService, maxBody: number) =>
  new Hono<AppEnv>()
    .get('/', (c) => c.json(jobs.list(c.req.query())))
    .post('/', async (c) => {
      const job = await jobs.create(await readDocument(c, maxBody));
      c.header('Location', `/api/v1/jobs/${job.job_id}`);
      return c.json(job, 202);
    })
    .get('/:id', (c) => c.json(jobs.get(c.req.param('id'))))
    .get('/:id/events', (c) => c.json(jobs.events(c.req.param('id'), c.req.query())))
    .get('/:id/task', (c) => c.json(jobs.task(c.req.param('id'), bearer(c.req.header('authorization')))))
    .post('/:id/cancel', async (c) => {
      await readOptionalJson(c, maxBody);
      return c.json(jobs.cancel(c.req.param('id')));
    })
    .post('/:id/events', async (c) => {
      // Authenticate before reading the body: a wrong token must not cost a body parse.
      const id = c.req.param('id');
      const token = bearer(c.req.header('authorization'));
      jobs.authenticate(id, token);
      return c.json(jobs.report(id, token, await readDocument(c, maxBody)));
    });

export const createWebhookRoutes = (jobs: JobService, maxBody: number) =>
  new Hono<AppEnv>().post('/:serial', async (c) =>
    c.json(jobs.webhook(c.req.param('serial'), c.req.header('x-webhook-secret'), await readDocument(c, maxBody))),
  );
