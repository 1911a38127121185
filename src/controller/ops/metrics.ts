import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AppEnv } from '../../http/env.js';

/** Prometheus metrics of one server instance (its own registry, so tests can run several). */
export const createMetrics = (deps: { jobsByState: () => Record<string, number> }) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests by route and status', labelNames, registers: [registry] });
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  new Gauge({
    name: 'reef_jobs',
    help: 'Jobs by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      for (const [state, n] of Object.entries(deps.jobsByState())) this.set({ state }, n);
    },
  });

  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const route = routePath(c, -1) || 'unmatched';
      const labels = { method: c.req.method, route: route === '/*' || route === '*' ? 'unmatched' : route, status: String(c.get('sentStatus') ?? c.res.status) };
      requests.inc(labels);
      latency.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    }
  };
  return { registry, middleware };
};
export type Metrics = ReturnType<typeof createMetrics>;
