import { Hono, type MiddlewareHandler } from 'hono';
import { requestId } from 'hono/request-id';
import type { Logger } from 'pino';
import type { BootService } from './boot/boot-service.js';
import { createBootRoutes } from './boot/boot-routes.js';
import type { AppEnv } from '../http/env.js';
import { apiNotFound, createApiErrorHandler } from '../http/errors.js';
import { createJobRoutes, createWebhookRoutes } from './jobs/job-routes.js';
import type { JobService } from './jobs/job-service.js';
import type { MachineService } from './machines/machine-service.js';
import { createMachineRoutes } from './machines/machine-routes.js';
import type { MediaService } from './media/media-service.js';
import { createIsoMediaRoutes, createIsoRoutes } from './isos/iso-routes.js';
import type { IsoService } from './isos/iso-service.js';
import { createMediaRoutes } from './media/media-routes.js';
import { openApiDocument } from './openapi.js';
import type { Metrics } from './ops/metrics.js';
import { createOpsRoutes } from './ops/ops-routes.js';
import { createPrestageIgnitionRoutes } from './prestage/ignition-routes.js';
import { createRecipeRoutes } from './recipes/recipe-routes.js';
import { registryErrorAsApiError, registryErrorHandler } from '../registry/http/errors.js';
import type { RecipeService } from './recipes/recipe-service.js';

export interface AppDeps {
  log: Logger;
  metrics: Metrics;
  recipes: RecipeService;
  machines: MachineService;
  jobs: JobService;
  media: MediaService;
  boot: BootService;
  isos: IsoService;
  ready: () => string | null;
  publicUrl: string;
  maxBodyBytes: number;
  /** REEF_BODY_TIMEOUT, read by every whole-body reader (http/body.ts). */
  bodyTimeoutMs: number;
  /** The embedded OCI registry (/v2 and /admin), when enabled. */
  registry?: { routes: Hono<AppEnv>; admin: Hono<AppEnv>; auth: MiddlewareHandler<AppEnv> };
}

/** Composes the controller's HTTP surface from its services. */
export const createApp = (d: AppDeps) => {
  const app = new Hono<AppEnv>();
  app.use('*', requestId({ limitLength: 128 }));
  app.use('*', async (c, next) => {
    const start = performance.now();
    c.set('log', d.log.child({ req_id: c.get('requestId') }));
    c.set('bodyTimeoutMs', d.bodyTimeoutMs);
    await next();
    // Path only: query strings may carry media signatures; Authorization is never logged.
    d.log.info(
      { req_id: c.get('requestId'), method: c.req.method, path: c.req.path, status: c.get('sentStatus') ?? c.res.status, ms: Math.round((performance.now() - start) * 10) / 10 },
      'request',
    );
  });
  app.use('*', d.metrics.middleware);

  app.route('/', createOpsRoutes({ metrics: d.metrics, ready: d.ready }));
  app.route('/api/v1/recipes', createRecipeRoutes(d.recipes, d.maxBodyBytes));
  app.route('/api/v1/machines', createMachineRoutes(d.machines, d.maxBodyBytes));
  app.route('/api/v1/jobs', createJobRoutes(d.jobs, d.maxBodyBytes));
  app.route('/api/v1/status-webhook', createWebhookRoutes(d.jobs, d.maxBodyBytes));
  app.route('/api/v1/prestage/ignition', createPrestageIgnitionRoutes());
  app.get('/api/v1/openapi.json', (c) => c.json(openApiDocument(d.publicUrl)));
  app.route('/api/v1/isos', createIsoRoutes(d.isos, d.maxBodyBytes));
  app.route('/media/isos', createIsoMediaRoutes(d.isos, d.media));
  app.route('/media', createMediaRoutes(d.media));
  app.route('/', createBootRoutes(d.boot));
  if (d.registry) {
    app.use('/v2', d.registry.auth);
    app.use('/v2/*', d.registry.auth);
    app.use('/admin/*', d.registry.auth);
    app.route('/', d.registry.routes);
    app.route('/admin', d.registry.admin);
  }

  // One mapping per surface: /v2 answers in the OCI error envelope (also for its auth), the rest in reef's.
  const apiErrorHandler = createApiErrorHandler(registryErrorAsApiError);
  app.onError((err, c) => (c.req.path === '/v2' || c.req.path.startsWith('/v2/') ? registryErrorHandler(err, c) : apiErrorHandler(err, c)));
  app.notFound(apiNotFound);
  return app;
};
