import { isDigest } from '../registry/core/digest.js';
import { isTag } from '../registry/core/names.js';
import { MirrorInputError } from './errors.js';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

/** A fully qualified image reference (`quay.io/ns/name:tag`, `…@sha256:…`, or both). */
export interface SourceRef {
  /** The reference as written (trimmed). */
  text: string;
  host: string;
  /** Path on the host: `openshift-release-dev/ocp-v4.0-art-dev`. */
  repository: string;
  tag?: string;
  digest?: string;
}

/**
 * Parses a fully qualified image reference. The first path segment must be a registry host
 * (holds a '.' or ':', or is `localhost`): short names are ambiguous, a cluster would not resolve
 * them the same way. `field` names where the text came from, for the error.
 */
export const parseSourceRef = (text: string, field: string): SourceRef => {
  const t = text.trim();
  const bad = (why: string) => new MirrorInputError(field, `${JSON.stringify(t)} ${why}`);
  const slash = t.indexOf('/');
  if (slash <= 0) throw bad('is not a fully qualified image reference (expected host/path[:tag|@digest])');
  const host = t.slice(0, slash);
  if (!/^(localhost|[^/]*[.:][^/]*)$/.test(host) || !/^[A-Za-z0-9.:[\]-]+$/.test(host)) throw bad(`does not start with a registry host (${JSON.stringify(host)})`);
  let rest = t.slice(slash + 1);
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw bad('has a malformed digest');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) throw bad(`has a malformed tag (${JSON.stringify(tag)})`);
  }
  if (rest.length > 255 || !REPOSITORY.test(rest)) throw bad(`has an invalid repository path (${JSON.stringify(rest)})`);
  return { text: t, host, repository: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
};

/** What to ask a registry for: the digest when there is one, else the tag (default `latest`). */
export const registryReference = (ref: SourceRef): string => ref.digest ?? ref.tag ?? 'latest';
