import type { AuditLog } from '../auth/audit.js';
import type { UiSessions } from '../auth/ui-session.js';
import type { FailureLimiter } from '../../lib/failure-limiter.js';
import type { IsoService } from '../isos/iso-service.js';
import type { JobService } from '../jobs/job-service.js';
import type { MachineService } from '../machines/machine-service.js';
import type { MirrorSync } from '../mirror/mirror-sync.js';
import type { RecipeService } from '../recipes/recipe-service.js';
import type { EmbeddedRegistry } from '../../registry/wire.js';
import type { UiAssets } from './assets.js';

/** One release as the releases page lists it (FastRegistry's fields, issue 19). */
export interface UiRelease {
  version: string;
  architecture: string;
  state: string;
  discovered_at?: string | null;
  cloned_at?: string | null;
  size?: number | null;
  error?: string | null;
}

/** The releases feature, when this reef has one; the page says so when it has not. */
export interface ReleasesPort {
  list(): UiRelease[] | Promise<UiRelease[]>;
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
}
