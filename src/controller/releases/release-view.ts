import { percent, type CloneProgress, type DownloadRecord, type Release, type ReleaseEvent } from '../../releases/release.js';

/** FastRegistry's JSON for the release model (snake_case, ISO 8601 times). */
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const releaseJson = (r: Release) => ({
  version: r.version,
  architecture: r.architecture,
  tag: r.tag,
  state: r.state,
  upstream_digest: r.upstreamDigest,
  discovered_at: iso(r.discoveredAt),
  cloned_at: iso(r.clonedAt),
  verified_at: iso(r.verifiedAt),
  size: r.size,
  error: r.error,
  artifacts: r.artifacts.map((a) => ({ name: a.name, type: a.type, path: a.path, size: a.size, sha256: a.sha256 })),
  verify: r.verify,
});

export const progressJson = (tag: string, p: CloneProgress) => ({
  version: tag,
  phase: p.phase,
  total_blobs: p.totalBlobs,
  synced_blobs: p.syncedBlobs,
  total_bytes: p.totalBytes,
  synced_bytes: p.syncedBytes,
  percent_done: percent(p.syncedBytes, p.totalBytes),
  total_components: p.totalComponents,
  mirrored_components: p.mirroredComponents,
  component_percent: percent(p.mirroredComponents, p.totalComponents),
  current_component: p.currentComponent,
});

export const eventJson = (e: ReleaseEvent) => ({ id: e.id, type: e.type, severity: e.severity, time: iso(e.time), version: e.version, details: e.details });

export const downloadJson = (d: DownloadRecord) => ({
  time: iso(d.time),
  version: d.version,
  artifact: d.artifact,
  client_ip: d.clientIp,
  user_agent: d.userAgent,
  size: d.size,
  duration: d.durationMs / 1000,
  status: d.status,
  range: d.range,
});
