import { Hono } from 'hono';
import type { AppEnv } from '../../http/env.js';
import type { Metrics } from './metrics.js';

export const createOpsRoutes = (deps: { metrics: Metrics; ready: () => string | null }) =>
  new Hono<AppEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', (c) => {
      const problem = deps.ready();
      return problem ? c.json({ status: 'unavailable', reason: problem }, 503) : c.json({ status: 'ready' });
    })
    .get('/metrics', async (c) => c.body(await deps.metrics.registry.metrics(), 200, { 'Content-Type': deps.metrics.registry.contentType }));
