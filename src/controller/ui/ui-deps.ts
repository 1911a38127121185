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

/**
 * The releases feature as the releases page reads it: FastRegistry's JSON (the shapes of
 * controller/releases/release-view.ts on the releases branch: releaseJson, progressJson,
 * eventJson, downloadJson), so main wires it from the release service in a few lines.
 */
export interface UiRelease {
  version: string;
  architecture: string;
  tag: string;
  state: string;
  discovered_at: string | null;
  cloned_at: string | null;
  size: number | null;
  error: string | null;
  artifacts: { name: string; type: string; size: number | null }[];
}

export interface UiCloneProgress {
  version: string;
  phase: string;
  total_blobs: number;
  synced_blobs: number;
  total_bytes: number;
  synced_bytes: number;
  percent_done: number;
  total_components: number;
  mirrored_components: number;
  current_component: string | null;
}

export interface UiReleaseEvent {
  id: number;
  type: string;
  severity: string;
  time: string | null;
  version: string | null;
  details: unknown;
}

export interface UiDownload {
  time: string | null;
  version: string;
  artifact: string;
  client_ip: string;
  user_agent: string | null;
  size: number;
  duration: number;
}

/** The releases feature, when this reef has one; the page says so when it has not. */
export interface ReleasesPort {
  list(): UiRelease[];
  /** Progress of the clones running now. */
  cloning(): UiCloneProgress[];
  events(query: { severity?: string; limit: number }): UiReleaseEvent[];
  downloads(limit: number): UiDownload[];
  clone(version: string): Promise<unknown>;
  extract(version: string): unknown;
  /** The agent ISO of a ready release from install-config.yaml and agent-config.yaml; its URL. */
  createIso(version: string, input: { install_config: string; agent_config: string }): Promise<{ iso_url: string }>;
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
