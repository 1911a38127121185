import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RegistryConfig } from './config.js';
import type { Db } from '../db/client.js';
import { setLongInterval } from '../lib/long-timer.js';
import type { SpaceReserve } from '../lib/space-reserve.js';
import { withSpaceReserve } from '../lib/space-reserve.js';
import { createGc, type GcReport } from './gc.js';
import { createScrubber, type ScrubReport } from './scrub.js';
import { registryAuth, type RegistryTokenCheck } from './http/auth.js';
import { registerRegistryMetrics } from './http/metrics.js';
import { createAdminRoutes, createRegistryRoutes } from './http/routes.js';
import { createSqliteRegistryMeta } from './meta/meta.sqlite.js';
import { createRegistryService } from './registry-service.js';
import { createStoredImageWriter } from './stored-image-writer.js';
import { createStoredImageReader } from './stored-images.js';
import { createBlobStore } from './storage/blob-store.fs.js';
import { createKeyedLock } from './storage/keyed-lock.js';
import { createUploads } from './uploads.js';

/** Builds the embedded registry (store → meta → services → routes) and its GC schedule. */
export const createEmbeddedRegistry = async (deps: { config: RegistryConfig; db: Db; sqlite: Database.Database; metrics: Registry; log: Logger; now: () => number; reserve?: SpaceReserve; verifyToken?: RegistryTokenCheck }) => {
  const { config, now } = deps;
  const store = await createBlobStore(config.storage);
  const meta = createSqliteRegistryMeta(deps.db, deps.sqlite);
  const lock = createKeyedLock();
  const uploads = createUploads({ meta, store, lock, now, maxConcurrent: config.maxConcurrentUploads });
  const registry = createRegistryService({ meta, store, lock, now });
  await registry.syncIndex();
  const gc = createGc({ meta, store, lock, uploads, now, graceMs: config.gcGraceMs, uploadExpiryMs: config.uploadTimeoutMs });
  const scrubber = createScrubber({ meta, store, lock, bytesPerSecond: config.scrubBytesPerSecond });
  const { onGc, onScrub: countScrub } = registerRegistryMetrics(deps.metrics, meta.stats);
  const onScrub = (report: ScrubReport) => {
    countScrub(report);
    for (const d of report.damaged) deps.log.warn({ event: 'registry.blob.damaged', digest: d.digest, problem: d.problem, detail: d.detail }, 'registry scrub: damaged blob');
    deps.log.info({ scrub: { ...report, damaged: report.damaged.length } }, 'registry scrub');
  };
  const scrub = async () => {
    const report = await scrubber.run();
    onScrub(report);
    return report;
  };
  /** The last GC that ran for real (scheduled or asked for), with when it finished. */
  let lastGc: (GcReport & { finished_at: string }) | undefined;
  /** One GC (or dry run) for every caller: POST /admin/gc, the schedule and the web UI. */
  const runGc = async (dryRun: boolean): Promise<GcReport> => {
    // GC needs no new space: on a full disk its database writes use the reserve.
    const report = await withSpaceReserve(deps.reserve, () => gc.run(dryRun));
    onGc(report);
    if (!dryRun) lastGc = { ...report, finished_at: new Date(now()).toISOString() };
    return report;
  };
  const http = { registry, uploads, store, runGc, scrub, reserve: deps.reserve, uploadTimeoutMs: config.uploadTimeoutMs, uploadStallMs: config.uploadStallMs, downloadTimeoutMs: config.downloadTimeoutMs };
  const timer = config.gcIntervalMs > 0
    ? setLongInterval(() => {
        runGc(false).then(
          (report) => {
            if (report.blobs_deleted || report.manifests_deleted || report.uploads_deleted) deps.log.info({ gc: report }, 'registry gc');
          },
          (err) => deps.log.error({ err }, 'registry gc failed'),
        );
      }, config.gcIntervalMs)
    : undefined;
  const scrubTimer = config.scrubIntervalMs > 0
    ? setLongInterval(() => {
        scrub().catch((err) => deps.log.error({ err }, 'registry scrub failed'));
      }, config.scrubIntervalMs)
    : undefined;
  return {
    routes: createRegistryRoutes(http),
    admin: createAdminRoutes(http),
    /** Manifests and blobs read and written in process (release extraction's ImageSource, the release clone's LocalRegistry). */
    images: { ...createStoredImageReader(registry, store), ...createStoredImageWriter(registry, uploads, store) },
    auth: registryAuth(config.auth, { verifyToken: deps.verifyToken }),
    gc,
    /** What the web UI reads: the same service, stats and GC the /v2 and /admin routes use. */
    browse: { service: registry, stats: meta.stats, runGc, lastGc: () => lastGc },
    stop: () => {
      timer?.clear();
      scrubTimer?.clear();
    },
  };
};
export type EmbeddedRegistry = Awaited<ReturnType<typeof createEmbeddedRegistry>>;
