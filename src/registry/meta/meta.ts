import type { ParsedManifest } from '../core/manifest.js';

export interface ManifestRow {
  repo: string;
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  subject: string | null;
  annotations: Record<string, string> | null;
  createdAt: number;
}

export interface GcPlan {
  blobs: { digest: string; size: number }[];
  manifests: number;
  uploads: string[];
  repositories: number;
}

/** Registry metadata (repositories, tags, manifests and their references, uploads). */
export interface RegistryMeta {
  blob(digest: string): { size: number } | undefined;
  /** Whether any row (a blob, or a manifest in any repository) holds this digest: its file is in use. */
  knowsDigest(digest: string): boolean;
  /** Every blob row (layers, configs and manifests), in digest order, read lazily. */
  allBlobs(): Iterable<{ digest: string; size: number }>;
  repoHasBlob(repo: string, digest: string): boolean;
  /** Records a verified blob and links it to the repository (refreshing its grace window). */
  linkBlob(repo: string, digest: string, size: number, now: number): void;
  unlinkBlob(repo: string, digest: string): boolean;
  /** Inserts a manifest and its tags in one transaction; MANIFEST_BLOB_UNKNOWN when references are missing. */
  putManifest(m: ManifestRow, parsed: ParsedManifest, tags: string[]): void;
  manifest(repo: string, digest: string): ManifestRow | undefined;
  tag(repo: string, tag: string): string | undefined;
  deleteTag(repo: string, tag: string): boolean;
  deleteManifest(repo: string, digest: string): boolean;
  repoExists(repo: string): boolean;
  tags(repo: string, n: number, last: string | undefined): string[];
  referrers(repo: string, subject: string): ManifestRow[];
  catalog(n: number, last: string | undefined): string[];
  createUpload(id: string, repo: string, now: number): void;
  upload(id: string): { repo: string; createdAt: number; updatedAt: number } | undefined;
  touchUpload(id: string, now: number): void;
  deleteUpload(id: string): void;
  taggedManifests(): { repo: string; tag: string; digest: string; mediaType: string; size: number }[];
  /**
   * Marks from the roots and removes swept blob and manifest rows in one transaction (or only
   * plans, when dryRun). Expired uploads are listed, not removed: the caller skips busy ones.
   */
  collect(now: number, graceMs: number, uploadExpiryMs: number, dryRun: boolean): GcPlan;
  stats(): { bytes: number; count: number };
}
