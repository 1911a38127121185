import type { ReleaseArchitecture } from './release-config.js';

/**
 * The release model FastRegistry's API shows (DESIGN §7): one release per `<version>-<arch>`
 * tag, its lifecycle `available → cloning → cloned → extracting → ready` (or `failed`), the
 * clone's live progress, the verify report, its artifacts, and the events and download records
 * of the timeline. Times are milliseconds in the model and ISO 8601 in the API.
 */
export const RELEASE_STATES = ['available', 'cloning', 'cloned', 'extracting', 'ready', 'failed'] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];

export interface Artifact {
  /** `openshift-install`, `oc-mac-arm64`, `coreos.iso`, … */
  name: string;
  /** `binary`, `iso`, … as the extractor names it. */
  type: string;
  /** Absolute path on disk. */
  path: string;
  size: number;
  sha256: string;
}

export interface VerifyReport {
  complete: boolean;
  release_blobs_expected: number;
  release_blobs_present: number;
  components_expected: number;
  component_manifests_ok: number;
  component_blobs_expected: number;
  component_blobs_present: number;
  /** What is missing or wrong, first few (reef's addition). */
  problems: string[];
}

export interface Release {
  /** `4.21.0-x86_64` */
  tag: string;
  version: string;
  architecture: ReleaseArchitecture;
  state: ReleaseState;
  upstreamDigest: string | null;
  discoveredAt: number;
  clonedAt: number | null;
  verifiedAt: number | null;
  /** Bytes of the release and every component (blobs, once each). */
  size: number | null;
  error: string | null;
  artifacts: Artifact[];
  verify: VerifyReport | null;
}

export const CLONE_PHASES = ['pulling_manifest', 'pulling_blobs', 'mirroring_components'] as const;
export type ClonePhase = (typeof CLONE_PHASES)[number];

export interface CloneProgress {
  phase: ClonePhase;
  totalBlobs: number;
  syncedBlobs: number;
  totalBytes: number;
  syncedBytes: number;
  totalComponents: number;
  mirroredComponents: number;
  currentComponent: string;
}

export const EVENT_TYPES = ['release.discovered', 'clone_start', 'cloned', 'ready', 'failed', 'reset', 'extract_start', 'iso.created', 'copy', 'download.artifact', 'discovery.run'] as const;
export type ReleaseEventType = (typeof EVENT_TYPES)[number];
export const SEVERITIES = ['info', 'warning', 'error', 'success'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface ReleaseEvent {
  id: number;
  type: ReleaseEventType;
  severity: Severity;
  time: number;
  /** The release tag (`4.21.0-x86_64`), or '' for events about no one release. */
  version: string;
  details: Record<string, unknown>;
}

export interface DownloadRecord {
  time: number;
  version: string;
  artifact: string;
  clientIp: string;
  userAgent: string;
  /** Bytes actually sent (a Range GET's part, a transfer cut short counts what went). */
  size: number;
  durationMs: number;
  status: number;
  range: string | null;
}

const TAG = /^(\d+\.\d+\.\d+(?:-(?:rc|ec|fc)\.\d+)?)-(x86_64|aarch64|ppc64le|s390x|multi)$/;
const VERSION = /^\d+\.\d+\.\d+(?:-(?:rc|ec|fc)\.\d+)?$/;

/** `4.21.0-x86_64` → its version and architecture; undefined for any other tag. */
export const parseReleaseTag = (tag: string): { version: string; architecture: ReleaseArchitecture } | undefined => {
  const m = TAG.exec(tag);
  return m ? { version: m[1]!, architecture: m[2] as ReleaseArchitecture } : undefined;
};

export const releaseTag = (version: string, architecture: string): string => `${version}-${architecture}`;

/** What a user names a release by: its tag, or a bare version (the default architecture's). */
export const resolveReleaseName = (name: string, defaultArchitecture: string): string | undefined => {
  if (parseReleaseTag(name)) return name;
  return VERSION.test(name) ? releaseTag(name, defaultArchitecture) : undefined;
};

export const percent = (done: number, total: number): number => (total > 0 ? Math.min(100, Math.floor((done * 1000) / total) / 10) : 0);
