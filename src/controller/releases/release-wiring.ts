import cron from 'node-cron';
import type { Logger } from 'pino';
import type { Db } from '../../db/client.js';
import { createClientPool } from '../../mirror/sources.js';
import { loadAuthFile } from '../../registry/client/auth-file.js';
import type { LocalRegistry } from '../../releases/local-registry.js';
import type { ReleasePorts } from '../../releases/ports.js';
import { createReleaseArtifacts, type ReleaseArtifacts } from '../../releases/release-artifacts.js';
import type { ReleasesConfig } from '../../releases/release-config.js';
import { createReleaseService } from '../../releases/release-service.js';
import type { ReleaseFeature } from './release-routes.js';
import { createSqliteReleaseStore } from './release-store.sqlite.js';

export interface ReleaseWiringDeps {
  config: ReleasesConfig;
  db: Db;
  /** reef's own registry, read and written in process (the embedded registry's `images`). */
  local: LocalRegistry;
  /** reef's registry as nodes and workstations reach it (REEF_PUBLIC_URL's host): stamped into openshift-install. */
  publicRegistry: string;
  publicUrl: string;
  /** The artifact pieces (extraction, agent ISO, copy); a port left out answers 501. */
  ports: ReleasePorts;
  log: Logger;
  now: () => number;
}

/**
 * Release management as the server runs it: the SQLite store, upstream clients with the pull
 * secret, reef's own registry as the destination, the clones a restart cut short resumed, and
 * discovery on `discover_schedule` when `auto_discover` is on.
 */
export const startReleases = async (d: ReleaseWiringDeps): Promise<ReleaseFeature & { stop(): Promise<void> }> => {
  const store = createSqliteReleaseStore(d.db);
  // Only the pull secret's hosts get credentials; an auth file from the user's home is not read by the server.
  const authFile = d.config.pull_secret ? await loadAuthFile(d.config.pull_secret) : undefined;
  const log = d.log.child({ area: 'releases' });
  const clients = createClientPool({
    authFile,
    tlsVerify: true,
    retries: d.config.retries,
    retryDelayMs: 1000,
    onRetry: (e) => log.info({ what: e.what, attempt: e.attempt, status: e.status }, 'upstream retry'),
  });
  const { local, ports } = d;
  const service = createReleaseService({
    config: d.config,
    store,
    clients,
    local,
    log,
    now: d.now,
    ...(ports.extractor && d.config.auto_extract ? { afterClone: (r, signal) => artifacts.afterClone(r, signal) } : {}),
  });
  const artifacts: ReleaseArtifacts = createReleaseArtifacts({ config: d.config, store, releases: service, ports, registryHost: d.publicRegistry, publicUrl: d.publicUrl });
  service.resume();
  const task = d.config.discoverSchedule
    ? cron.schedule(d.config.discoverSchedule, () => {
        service.discover('schedule').catch((err) => log.warn({ error: (err as Error).message }, 'scheduled release discovery failed'));
      })
    : undefined;
  return {
    service,
    artifacts,
    async stop() {
      await task?.stop();
      await service.stop();
    },
  };
};
