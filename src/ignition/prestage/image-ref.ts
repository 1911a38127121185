import { isDigest } from '../../registry/core/digest.js';
import { isTag } from '../../registry/core/names.js';
import { PrestageInputError } from './errors.js';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

/** A fully qualified image reference as the node will ask for it (`quay.io/ns/name:tag` or `…@sha256:…`). */
export interface SourceRef {
  /** The reference as written (trimmed): what the lists record and the node loads it as. */
  text: string;
  host: string;
  /** Path on the host: `openshift-release-dev/ocp-v4.0-art-dev`. */
  repository: string;
  tag?: string;
  digest?: string;
}

/**
 * Parses a fully qualified image reference. The first path segment must be a registry host
 * (holds a '.' or ':', or is `localhost`): short names are ambiguous and the node would not
 * resolve them the same way. `field` names where the text came from, for the error.
 */
export const parseSourceRef = (text: string, field: string): SourceRef => {
  const t = text.trim();
  const bad = (why: string) => new PrestageInputError(field, `${JSON.stringify(t)} ${why}`);
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

/** What to ask the registry for: the digest when there is one, else the tag (default `latest`). */
export const registryReference = (ref: SourceRef): string => ref.digest ?? ref.tag ?? 'latest';

export { imageDirName } from '../precache/layout.js';

/**
 * Parses an image list file: one reference per line (the first word), `#` comments and blank
 * lines ignored, duplicates dropped. Errors name the flag and the line: `--ai-images line 3: …`.
 */
export const parseImageList = (text: string, flag: string): SourceRef[] => {
  const seen = new Set<string>();
  const refs: SourceRef[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const word = line.split(/\s+/)[0]!;
    const ref = parseSourceRef(word, `${flag} line ${i + 1}`);
    if (seen.has(ref.text)) return;
    seen.add(ref.text);
    refs.push(ref);
  });
  return refs;
};
