import type { AuditLog } from '../auth/audit.js';
import type { UiSessions } from '../auth/ui-session.js';
import type { FailureLimiter } from '../../lib/failure-limiter.js';
import type { IsoService } from '../isos/iso-service.js';
import type { JobService } from '../jobs/job-service.js';
import type { MachineService } from '../machines/machine-service.js';
import type { MirrorSync } from '../mirror/mirror-sync.js';
import type { RecipeService } from '../recipes/recipe-service.js';
import type { ReleaseArtifacts } from '../../releases/release-artifacts.js';
import type { ReleaseService } from '../../releases/release-service.js';
import type { EmbeddedRegistry } from '../../registry/wire.js';
import type { UiAssets } from './assets.js';

/**
 * The releases feature (issue 19), when this reef has one: the very service and artifacts the
 * /admin/releases routes call (the pages keep no query logic of their own).
 */
export interface ReleasesPort {
  service: Pick<ReleaseService, 'list' | 'get' | 'tagOf' | 'status' | 'discover' | 'clone' | 'reset' | 'verify' | 'events' | 'downloads' | 'downloadTotals'>;
  artifacts: Pick<ReleaseArtifacts, 'extractOne' | 'createIso' | 'artifacts' | 'agentIsos'>;
}

/** Space on the disk that holds the data directory. */
export interface DiskSpace {
  total: number;
  free: number;
}

/** The services the pages read and change: the very ones the JSON API routes call. */
export interface UiDeps {
  jobs: JobService;
  machines: MachineService;
  recipes: RecipeService;
  isos: IsoService;
  audit: AuditLog;
  mirrorSync: MirrorSync | undefined;
  registry: EmbeddedRegistry['browse'] | undefined;
  releases: ReleasesPort | undefined;
  sessions: UiSessions;
  /** Wrong tokens per address (shared with the API's bearer checks): the sign-in form answers 429 past the limit. */
  failures: FailureLimiter;
  assets: UiAssets;
  ready: () => string | null;
  disk: () => DiskSpace | undefined;
  maxBodyBytes: number;
  /** How often a job page's event stream looks for news (ms). */
  streamPollMs: number;
  /** Aborted when reef stops: live streams end rather than hold the shutdown. */
  stopping: AbortSignal;
}
