/**
 * Names inside an oc-mirror v2 archive set (openshift/oc-mirror internal/pkg/archive) and the
 * distribution storage layout it carries (distribution/distribution registry/storage/paths.go):
 *
 *   mirror_000001.tar, mirror_000002.tar, …        plain tar chunks (`%s_%06d.tar`)
 *     docker/registry/v2/repositories/<repo>/_manifests/revisions/<alg>/<hex>/link
 *     docker/registry/v2/repositories/<repo>/_manifests/tags/<tag>/current/link
 *     docker/registry/v2/repositories/<repo>/_manifests/tags/<tag>/index/<alg>/<hex>/link
 *     docker/registry/v2/repositories/<repo>/_layers/<alg>/<hex>/link
 *     docker/registry/v2/blobs/<alg>/<hex[0:2]>/<hex>/data       (manifests are blobs too)
 *     working-dir/…                                                (history, cluster-resources)
 *     isc_<RFC3339 UTC>                                            (the ImageSetConfiguration, no extension)
 *
 * A link file holds the digest string, `sha256:<hex>`, with no newline (distribution writes
 * `[]byte(dgst)`). Only regular-file members; directories are implied.
 */
import { parseDigest } from '../../registry/core/digest.js';

export const REGISTRY_ROOT = 'docker/registry/v2';
export const REPOSITORIES = `${REGISTRY_ROOT}/repositories`;
export const BLOBS = `${REGISTRY_ROOT}/blobs`;
export const WORKING_DIR = 'working-dir';
export const ISC_PREFIX = 'isc_';
/** The list of chunk checksums beside the chunks, in `sha256sum` format (reef's; oc-mirror writes none). */
export const CHECKSUMS_FILE = 'SHA256SUMS';
export const PARTIAL_SUFFIX = '.partial';

export const chunkName = (n: number): string => `mirror_${String(n).padStart(6, '0')}.tar`;
/** A finished chunk's name, anchored (oc-mirror's own match is unanchored: `mirror_[0-9]{6}\.tar`). */
export const CHUNK_NAME = /^mirror_[0-9]{6}\.tar$/;
export const isChunkLeftover = (name: string): boolean => CHUNK_NAME.test(name) || (name.endsWith(PARTIAL_SUFFIX) && CHUNK_NAME.test(name.slice(0, -PARTIAL_SUFFIX.length)));

/** Go's time.RFC3339 of a UTC time: `2024-05-01T10:00:00Z`, whole seconds. */
export const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');
export const iscName = (time: string): string => `${ISC_PREFIX}${time}`;

const split = (digest: string) => {
  const d = parseDigest(digest);
  return `${d.algorithm}/${d.hex}`;
};

export const blobDataPath = (digest: string): string => {
  const d = parseDigest(digest);
  return `${BLOBS}/${d.algorithm}/${d.hex.slice(0, 2)}/${d.hex}/data`;
};
export const revisionLinkPath = (repo: string, digest: string): string => `${REPOSITORIES}/${repo}/_manifests/revisions/${split(digest)}/link`;
export const tagCurrentLinkPath = (repo: string, tag: string): string => `${REPOSITORIES}/${repo}/_manifests/tags/${tag}/current/link`;
export const tagIndexLinkPath = (repo: string, tag: string, digest: string): string => `${REPOSITORIES}/${repo}/_manifests/tags/${tag}/index/${split(digest)}/link`;
export const layerLinkPath = (repo: string, digest: string): string => `${REPOSITORIES}/${repo}/_layers/${split(digest)}/link`;
/** A link file's bytes: the digest, no newline. */
export const linkBytes = (digest: string): Buffer => Buffer.from(parseDigest(digest).text, 'latin1');

export type RegistryPath =
  | { kind: 'blob'; digest: string }
  | { kind: 'revision'; repo: string; digest: string }
  | { kind: 'tag-current'; repo: string; tag: string }
  | { kind: 'tag-index'; repo: string; tag: string; digest: string }
  | { kind: 'layer'; repo: string; digest: string };

const DIGEST_PART = '(sha256|sha512)/([a-f0-9]+)';
const BLOB_RE = new RegExp(`^${BLOBS}/(sha256|sha512)/([a-f0-9]{2})/([a-f0-9]+)/data$`);
const REPO_RE = new RegExp(`^${REPOSITORIES}/(.+?)/(_manifests|_layers)/(.+)$`);
const REVISION_RE = new RegExp(`^revisions/${DIGEST_PART}/link$`);
const CURRENT_RE = /^tags\/([^/]+)\/current\/link$/;
const INDEX_RE = new RegExp(`^tags/([^/]+)/index/${DIGEST_PART}/link$`);
const LAYER_RE = new RegExp(`^${DIGEST_PART}/link$`);

const digestOrUndefined = (alg: string, hex: string): string | undefined => {
  try {
    return parseDigest(`${alg}:${hex}`).text;
  } catch {
    return undefined;
  }
};

/**
 * What a member path under docker/registry/v2 is, or undefined for anything else (uploads,
 * unknown files). Repository names cannot hold a component starting with `_`, so the first
 * `/_manifests/` or `/_layers/` ends the name.
 */
export const parseRegistryPath = (path: string): RegistryPath | undefined => {
  const blob = BLOB_RE.exec(path);
  if (blob) {
    const digest = digestOrUndefined(blob[1]!, blob[3]!);
    return digest && blob[3]!.startsWith(blob[2]!) ? { kind: 'blob', digest } : undefined;
  }
  const m = REPO_RE.exec(path);
  if (!m) return undefined;
  const [, repo, area, rest] = m as unknown as [string, string, string, string];
  if (area === '_layers') {
    const l = LAYER_RE.exec(rest);
    const digest = l && digestOrUndefined(l[1]!, l[2]!);
    return digest ? { kind: 'layer', repo, digest } : undefined;
  }
  const r = REVISION_RE.exec(rest);
  if (r) {
    const digest = digestOrUndefined(r[1]!, r[2]!);
    return digest ? { kind: 'revision', repo, digest } : undefined;
  }
  const c = CURRENT_RE.exec(rest);
  if (c) return { kind: 'tag-current', repo, tag: c[1]! };
  const i = INDEX_RE.exec(rest);
  if (i) {
    const digest = digestOrUndefined(i[2]!, i[3]!);
    return digest ? { kind: 'tag-index', repo, tag: i[1]!, digest } : undefined;
  }
  return undefined;
};
