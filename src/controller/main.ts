import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import https from 'node:https';
import { createAdaptorServer, type ServerType } from '@hono/node-server';
import cron from 'node-cron';
import pino, { type Logger } from 'pino';
import { createApp } from './app.js';
import { createBootService } from './boot/boot-service.js';
import { createMaintenanceImage } from './boot/maintenance-image.js';
import { type Config, defaultPublicUrl } from './config.js';
import { openDb } from '../db/client.js';
import { createJobTokens } from './jobs/ids.js';
import { createJobService } from './jobs/job-service.js';
import { createSqliteJobStore } from './jobs/job-store.sqlite.js';
import { createMachineService } from './machines/machine-service.js';
import { createSqliteMachineStore } from './machines/machine-store.sqlite.js';
import { createMediaService } from './media/media-service.js';
import { createIsoService } from './isos/iso-service.js';
import { createIsoStore } from './isos/iso-store.fs.js';
import { embedIgnition, showIgnition } from '../ignition/live-iso/live-iso.js';
import { createTaskMediaStore } from './media/media-store.fs.js';
import { createMediaRetention } from './media/retention.js';
import { createUrlSigner } from './media/signing.js';
import { buildTaskIso, taskIsoFiles } from './media/task-iso.js';
import { createMetrics } from './ops/metrics.js';
import { createRecipeService } from './recipes/recipe-service.js';
import { createSqliteRecipeStore } from './recipes/recipe-store.sqlite.js';
import { loadOrCreateSecret } from './secret.js';
import { statfsSync } from 'node:fs';
import { createAccessGate, isLoopback } from './auth/access.js';
import { createUiSessions } from './auth/ui-session.js';
import { ensureAdminToken } from './auth/admin-token.js';
import { createAuditLog } from './auth/audit.js';
import { createTokenService } from './auth/token-service.js';
import { createSqliteTokenStore } from './auth/token-store.sqlite.js';
import { certificateHosts, createServerTls, type ServerTls } from './tls/server-tls.js';
import { createMirrorSync } from './mirror/mirror-sync.js';
import { startReleases } from './releases/release-wiring.js';
import { createReleasePorts } from '../releases/release-ports.js';
import type { TokenService } from './auth/token-service.js';
import type { ClientOptions } from '../registry/client/oci-client.js';
import type { TlsMaterial } from './tls/site-ca.js';
import { createEmbeddedRegistry } from '../registry/wire.js';
import { setLongTimeout } from '../lib/long-timer.js';
import { createSpaceReserve } from '../lib/space-reserve.js';
import { createFailureLimiter } from '../lib/failure-limiter.js';

export interface RunningReef {
  /** The URL the server listens on (actual port). */
  url: string;
  /** The plain-HTTP boot listener's URL (REEF_BOOT_LISTEN), when there is one. */
  bootUrl: string | undefined;
  publicUrl: string;
  log: Logger;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes the database. */
  close(): Promise<void>;
  sweepMedia(): Promise<{ removed: number; orphans: number }>;
  /** Every route the app serves (method, path), for the route-table test. */
  declaredRoutes(): { method: string; path: string }[];
}

type Fetch = (req: Request, env: unknown) => Response | Promise<Response>;

/** An HTTP(S) server listening on `at`; HTTPS when `tls` is given. */
const listenOn = async (at: { host: string; port: number }, fetch: Fetch, tls?: TlsMaterial): Promise<ServerType> => {
  const server = tls
    ? createAdaptorServer({ fetch, createServer: https.createServer, serverOptions: { cert: tls.cert, key: tls.key } })
    : createAdaptorServer({ fetch });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => resolve());
  });
  // Large uploads (10 GiB WIMs) outlive Node's default 5-minute request timeout; the registry
  // applies its own upload and download timeouts.
  (server as { requestTimeout?: number }).requestTimeout = 0;
  return server;
};

/** Stops accepting, lets in-flight requests finish for up to `graceMs`, then cuts the rest. */
const closeGracefully = (server: ServerType, graceMs: number) =>
  new Promise<void>((resolve) => {
    const timer = setLongTimeout(() => {
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    }, graceMs);
    server.close(() => {
      timer.clear();
      resolve();
    });
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });

/** The boot listener's URL as machines reach it: the public URL's host, the boot port, plain HTTP. */
const bootUrlOf = (publicUrl: string, port: number) => {
  const u = new URL(publicUrl);
  return `http://${u.hostname.includes(':') && !u.hostname.startsWith('[') ? `[${u.hostname}]` : u.hostname}:${port}`;
};

/** The site's own registry as the mirror sync reaches it: this listener, over loopback for a wildcard address. */
const ownRegistryHost = (host: string, port: number) => {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${h.includes(':') ? `[${h}]` : h}:${port}`;
};

/** How the mirror sync logs in to this reef's registry: a token of its own (made again at each start) in token mode. */
const ownRegistryLogin = (config: Config, tokens: TokenService, tls: ServerTls | undefined, name: string): Partial<ClientOptions> => {
  const transport: Partial<ClientOptions> = tls ? (tls.caPem() ? { ca: tls.caPem()! } : { tlsVerify: false }) : { plainHttp: true };
  const auth = config.registry.auth;
  if (auth.mode === 'basic') return { ...transport, username: auth.username, password: auth.password };
  if (auth.mode !== 'token') return transport;
  if (tokens.list().some((t) => t.name === name)) tokens.revoke(name);
  const { token } = tokens.create({ name, role: 'operator' });
  return { ...transport, username: name, password: token };
};

/** Says at every start what is open that should not be on a network. */
const warnOpenDoors = (config: Config, log: Logger) => {
  if (config.auth.mode === 'none') log.warn('REEF_API_AUTH=none: anyone who can reach this port can change recipes, jobs and machines');
  if (config.registry.enabled && config.registry.auth.mode === 'none' && !isLoopback(config.listen.host) && config.listen.host !== 'localhost') {
    log.warn({ listen: `${config.listen.host}:${config.listen.port}` }, 'the registry accepts anonymous pushes and deletes (REGISTRY_AUTH_MODE=none) on a non-loopback listener: anyone on the network can replace the images machines install; set REGISTRY_AUTH_MODE=token');
  }
};

/** Wires config → db → stores → services → app → server, and starts listening. */
export interface StartOptions {
  log?: Logger;
}

export const startReef = async (config: Config, opts: StartOptions = {}): Promise<RunningReef> => {
  const log = opts.log ?? pino({ level: config.logLevel, base: { svc: 'reef' }, redact: ['req.headers.authorization', '*.password'] });
  const now = () => Date.now();
  const opened = openDb(config.dataDir);
  const secret = loadOrCreateSecret(config.dataDir);

  const tls = config.tls.mode === 'off' ? undefined : await createServerTls(config.tls, certificateHosts(config.listen.host, config.publicUrlSet ? config.publicUrl : undefined), log);

  // The app needs the public URL, which needs the bound port: listen first, route requests once wired.
  const routing: { fetch?: (req: Request, env: unknown) => Response | Promise<Response> } = {};
  const server = await listenOn(config.listen, (req, env) => routing.fetch!(req, env), tls?.initial);
  tls?.watch((m) => (server as https.Server).setSecureContext({ cert: m.cert, key: m.key }));
  const port = (server.address() as AddressInfo).port;
  const publicUrl = config.publicUrlSet ? config.publicUrl : defaultPublicUrl(config.listen.host, port, tls ? 'https' : 'http');
  // Stock iPXE cannot do TLS: with REEF_BOOT_LISTEN, boot scripts and media are fetched there, over plain HTTP.
  const bootServer = config.bootListen ? await listenOn(config.bootListen, (req, env) => routing.fetch!(req, Object.assign(env as object, { listener: 'boot' }))) : undefined;
  const bootUrl = bootServer ? bootUrlOf(publicUrl, (bootServer.address() as AddressInfo).port) : publicUrl;
  if (tls && !bootServer) log.warn('TLS is on and REEF_BOOT_LISTEN is not set: stock iPXE cannot fetch /boot.ipxe or /media over HTTPS');

  const recipeStore = createSqliteRecipeStore(opened.db);
  const machineStore = createSqliteMachineStore(opened.db);
  const jobStore = createSqliteJobStore(opened.db);
  const taskMedia = createTaskMediaStore(join(config.dataDir, 'media', 'tasks'));
  const tokens = createJobTokens(secret);
  const signer = config.media.signingSecret ? createUrlSigner(config.media.signingSecret, config.media.urlTtlMs, now) : undefined;

  const recipes = createRecipeService({ store: recipeStore, now });
  const machines = createMachineService({ store: machineStore, now });
  const media = createMediaService({ getJob: jobStore.get, isoPath: taskMedia.isoPath, signer, publicUrl: bootUrl, bootIso: config.boot.iso });
  const jobs = createJobService({
    store: jobStore,
    machines,
    recipes,
    media: taskMedia,
    buildTaskIso,
    taskFiles: taskIsoFiles,
    tokens,
    taskIsoUrl: media.taskIsoUrl,
    publicUrl,
    webhookSecret: config.webhookSecret,
    maxEventsPerJob: config.jobMaxEvents,
    now,
    ca: () => tls?.caPem(),
  });
  const isos = createIsoService({
    store: createIsoStore({ bases: join(config.dataDir, 'isos', 'bases'), generated: join(config.dataDir, 'media', 'isos') }),
    live: { show: showIgnition, embed: embedIgnition },
    mediaUrl: media.urlOf,
    publicUrl: bootUrl,
    now,
  });
  const maintenanceImage = createMaintenanceImage(config.boot.dir);
  // /boot.ipxe?iso=<id>: a generated live ISO, or an agent ISO of a release (its UUID), once releases are wired below.
  const agentIsos: { bootUrl?: (id: string) => string | undefined } = {};
  const bootIsos = { bootUrl: async (id: string) => agentIsos.bootUrl?.(id) ?? isos.bootUrl(id) };
  const boot = createBootService({ machines, jobs: jobStore, tokens, media, boot: config.boot, publicUrl, bootUrl, now, isos: bootIsos, image: maintenanceImage, caFingerprint: () => tls?.caFingerprint() });
  const metrics = createMetrics({ jobsByState: jobs.countByStatus });
  const ready = () => {
    try {
      opened.sqlite.prepare('select 1').get();
      return null;
    } catch (err) {
      return `database: ${(err as Error).message}`;
    }
  };
  // Held back on the data disk (beside reef.db) for the deletions and GC that free space once it is full.
  const reserve = createSpaceReserve(join(config.dataDir, 'space.reserve'), config.spaceReserveBytes);
  if (!reserve.restore()) log.warn({ bytes: config.spaceReserveBytes }, 'no room for the space reserve under the data directory; it is made once there is');
  const apiTokens = createTokenService({ store: createSqliteTokenStore(opened.db), now });
  const audit = createAuditLog(opened.db);
  const adminTokenFile = await ensureAdminToken(apiTokens, config.dataDir);
  if (adminTokenFile) log.warn({ file: adminTokenFile }, `an admin API token was made; it is in ${adminTokenFile} (mode 0600), shown nowhere else`);
  warnOpenDoors(config, log);
  // Aborted when reef begins to stop: the web UI's live streams end then, instead of holding the shutdown's grace period.
  const stopping = new AbortController();
  const uiSessions = createUiSessions({ key: loadOrCreateSecret(config.dataDir, 'ui-session.key'), tokens: apiTokens, now, ttlMs: config.ui.sessionTtlMs });
  // One count of wrong tokens per address, for bearer tokens and the web UI's sign-in form alike.
  const authFailures = createFailureLimiter({ max: config.auth.failuresPerMinute, windowMs: 60_000 });
  const access = createAccessGate({ mode: config.auth.mode, tokens: apiTokens, audit, log, now, metricsNeedToken: config.auth.metricsNeedToken, failuresPerMinute: config.auth.failuresPerMinute, ui: uiSessions, failures: authFailures, maxFormBytes: config.maxBodyBytes });
  const disk = () => {
    try {
      const st = statfsSync(config.dataDir);
      return { total: st.blocks * st.bsize, free: st.bavail * st.bsize };
    } catch {
      return undefined;
    }
  };
  const verifyToken = (name: string, token: string) => {
    const check = apiTokens.verifyNamed(name, token);
    return check.ok ? { role: check.principal.role } : undefined;
  };
  const registry = config.registry.enabled
    ? await createEmbeddedRegistry({ config: config.registry, db: opened.db, sqlite: opened.sqlite, metrics: metrics.registry, log, now, reserve, verifyToken })
    : undefined;
  const mirrorSync = config.mirror && registry ? await createMirrorSync({ config: config.mirror, registry: ownRegistryHost(config.listen.host, port), registryOptions: ownRegistryLogin(config, apiTokens, tls, 'mirror-sync'), log, metrics: metrics.registry, now }) : undefined;
  if (config.mirror && !registry) log.warn('REEF_MIRROR_ISC is set but the registry is off (ENABLE_REGISTRY=false): no mirror sync');
  const releases =
    config.releases && registry
      ? await startReleases({
          config: config.releases,
          db: opened.db,
          local: registry.images,
          publicRegistry: new URL(publicUrl).host,
          publicUrl: bootUrl,
          ports: createReleasePorts({ config: config.releases!, images: registry.images, registryHost: new URL(publicUrl).host, caBundle: () => tls?.caPem() }),
          log,
          now,
        })
      : undefined;
  if (releases) agentIsos.bootUrl = (id) => releases.artifacts.agentIsoUrl(id, bootUrl);
  const app = createApp({
    log, metrics, recipes, machines, jobs, media, boot, isos, ready, publicUrl, maxBodyBytes: config.maxBodyBytes, bodyTimeoutMs: config.bodyTimeoutMs, registry,
    access, tokens: apiTokens, audit, caPem: () => tls?.caPem(), maintenanceImage, mirrorSync, releases, trustedProxies: config.trustedProxies,
    ui: { sessions: uiSessions, failures: authFailures, releases, disk, streamPollMs: config.ui.streamPollMs, stopping: stopping.signal },
  });
  routing.fetch = (req, env) => app.fetch(req, env as never);

  const retention = createMediaRetention({ jobs: jobStore, media: taskMedia, retentionMs: config.media.retentionMs, now });
  const sweepMedia = async () => {
    const result = await retention.sweep();
    if (result.removed || result.orphans) log.info(result, 'media retention sweep');
    return result;
  };
  const task = cron.schedule(config.media.cleanupSchedule, () => {
    sweepMedia().catch((err) => log.error({ err }, 'media retention sweep failed'));
  });

  // A machine that stops reporting (powered off, network gone) must not leave its job hanging.
  const watchdog = setInterval(
    () => {
      try {
        const expired = jobs.expireSilent(config.jobTimeoutMs);
        if (expired.length) log.warn({ jobs: expired }, 'jobs failed: no report within REEF_JOB_TIMEOUT');
      } catch (err) {
        log.error({ err }, 'job timeout check failed');
      }
    },
    Math.max(250, Math.min(60_000, config.jobTimeoutMs / 4)),
  );
  watchdog.unref();

  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      stopping.abort();
      await task.stop();
      clearInterval(watchdog);
      registry?.stop();
      tls?.stop();
      await mirrorSync?.stop();
      await releases?.stop();
      await Promise.all([server, ...(bootServer ? [bootServer] : [])].map((s) => closeGracefully(s, config.shutdownGraceMs)));
      opened.close();
    })();
    return closing;
  };
  const bootListenerUrl = bootServer ? `http://${config.bootListen!.host.includes(':') ? `[${config.bootListen!.host}]` : config.bootListen!.host}:${(bootServer.address() as AddressInfo).port}` : undefined;
  return { url, publicUrl, bootUrl: bootListenerUrl, log, close, sweepMedia, declaredRoutes: app.declaredRoutes };
};
