import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { requestId } from 'hono/request-id';
import type { Logger } from 'pino';
import type { BootService } from './boot/boot-service.js';
import type { MaintenanceImage } from './boot/maintenance-image.js';
import { createMirrorRoutes } from './mirror/mirror-routes.js';
import type { MirrorSync } from './mirror/mirror-sync.js';
import { createBootRoutes } from './boot/boot-routes.js';
import { createReleaseFileRoutes } from './releases/file-routes.js';
import { createReleaseRoutes, type ReleaseFeature } from './releases/release-routes.js';
import { releaseErrorAsApiError } from './releases/release-errors.js';
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
import { createPrestageGenerator, createPrestageIgnitionRoutes } from './prestage/ignition-routes.js';
import { createRecipeRoutes } from './recipes/recipe-routes.js';
import { registryErrorAsApiError, registryErrorHandler } from '../registry/http/errors.js';
import type { RecipeService } from './recipes/recipe-service.js';
import type { AuditLog } from './auth/audit.js';
import { createAuditRoutes, createTokenRoutes } from './auth/auth-routes.js';
import type { TokenService } from './auth/token-service.js';
import { DomainError } from '../core/errors.js';
import type { EmbeddedRegistry } from '../registry/wire.js';
import type { UiSessions } from './auth/ui-session.js';
import type { FailureLimiter } from '../lib/failure-limiter.js';
import { createUiAssets } from './ui/assets.js';
import { createUiErrorHandler } from './ui/ui-errors.js';
import { createUiRoutes } from './ui/ui-routes.js';
import type { DiskSpace, ReleasesPort } from './ui/ui-deps.js';

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
  /** The maintenance OS served at /media/maintenance (REEF_BOOT_DIR). */
  maintenanceImage: MaintenanceImage;
  /** The hub → site sync, when configured. */
  mirrorSync: MirrorSync | undefined;
  /** Release management (`releases:` in REEF_CONFIG), when enabled; its routes answer 404 otherwise. */
  releases?: ReleaseFeature | undefined;
  /** REEF_TRUSTED_PROXIES: peers whose X-Forwarded-For names the client (download records). */
  trustedProxies?: readonly string[];
  /** The gate in front of every route (auth/access.ts): the route table's rules, tokens, the audit. */
  access: MiddlewareHandler<AppEnv>;
  tokens: TokenService;
  audit: AuditLog;
  /** The site CA's certificate (PEM) when reef serves TLS with a CA clients should trust. */
  caPem: () => string | undefined;
  /** The embedded OCI registry (/v2 and /admin), when enabled. */
  registry?: { routes: Hono<AppEnv>; admin: Hono<AppEnv>; auth: MiddlewareHandler<AppEnv>; browse?: EmbeddedRegistry['browse'] };
  /** The operator web UI at /ui: its sessions, and what only main knows. */
  ui?: { sessions: UiSessions; failures: FailureLimiter; releases: ReleasesPort | undefined; disk: () => DiskSpace | undefined; streamPollMs: number; stopping: AbortSignal };
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
  app.use('*', d.access);

  // Routes only (no middleware) in `routes`, so the route-table test can walk exactly these.
  const routes = new Hono<AppEnv>();
  routes.route('/', createOpsRoutes({ metrics: d.metrics, ready: d.ready }));
  const caCert = (c: Context<AppEnv>) => {
    const pem = d.caPem();
    if (!pem) throw new DomainError('NOT_FOUND', 'reef has no site CA: it serves TLS only with REEF_TLS=auto');
    return c.body(pem, 200, { 'Content-Type': 'application/x-pem-file', 'Cache-Control': 'no-cache' });
  };
  routes.get('/ca.crt', caCert);
  // FastRegistry's path for the same certificate.
  routes.get('/admin/certs/ca', caCert);
  routes.route('/api/v1/recipes', createRecipeRoutes(d.recipes, d.maxBodyBytes));
  routes.route('/api/v1/machines', createMachineRoutes(d.machines, d.maxBodyBytes));
  routes.route('/api/v1/jobs', createJobRoutes(d.jobs, d.maxBodyBytes));
  routes.route('/api/v1/status-webhook', createWebhookRoutes(d.jobs, d.maxBodyBytes));
  const prestage = createPrestageGenerator();
  routes.route('/api/v1/prestage/ignition', createPrestageIgnitionRoutes(prestage));
  routes.get('/api/v1/openapi.json', (c) => c.json(openApiDocument(d.publicUrl)));
  routes.route('/api/v1/isos', createIsoRoutes(d.isos, d.maxBodyBytes));
  routes.route('/api/v1/tokens', createTokenRoutes(d.tokens, d.maxBodyBytes));
  routes.route('/api/v1/audit', createAuditRoutes(d.audit));
  routes.route('/api/v1/mirror', createMirrorRoutes(d.mirrorSync));
  routes.route('/admin/releases', createReleaseRoutes(d.releases, d.maxBodyBytes));
  routes.route('/files', createReleaseFileRoutes(d.releases, d.trustedProxies ?? [], Date.now));
  routes.route('/media/isos', createIsoMediaRoutes(d.isos, d.media));
  routes.route('/media', createMediaRoutes(d.media, d.maintenanceImage));
  routes.route('/', createBootRoutes(d.boot));
  if (d.registry) {
    app.use('/v2', d.registry.auth);
    app.use('/v2/*', d.registry.auth);
    routes.route('/', d.registry.routes);
    routes.route('/admin', d.registry.admin);
  }
  const uiAssets = createUiAssets();
  if (d.ui) {
    routes.route(
      '/ui',
      createUiRoutes({
        ...d.ui, jobs: d.jobs, machines: d.machines, recipes: d.recipes, isos: d.isos, audit: d.audit, mirrorSync: d.mirrorSync,
        registry: d.registry?.browse, ready: d.ready, maxBodyBytes: d.maxBodyBytes, assets: uiAssets, prestage,
      }),
    );
  }
  app.route('/', routes);

  // One mapping per surface: /v2 answers in the OCI error envelope (also for its auth), the rest in reef's.
  const apiErrorHandler = createApiErrorHandler(registryErrorAsApiError, releaseErrorAsApiError);
  const uiErrorHandler = createUiErrorHandler(uiAssets, apiErrorHandler);
  const onUi = (path: string) => path === '/ui' || path.startsWith('/ui/');
  // The gate's own refusals (the boot listener's 404) are reef's errors, on /v2 too.
  const onV2 = (path: string) => path === '/v2' || path.startsWith('/v2/');
  app.onError((err, c) => {
    if (onUi(c.req.path)) return uiErrorHandler(err, c);
    return onV2(c.req.path) && !(err instanceof DomainError) ? registryErrorHandler(err, c) : apiErrorHandler(err, c);
  });
  app.notFound(apiNotFound);
  return Object.assign(app, { declaredRoutes: () => routes.routes.map((r) => ({ method: r.method, path: r.path })) });
};
