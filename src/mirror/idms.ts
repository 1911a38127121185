import type { SourceRef } from './image-ref.js';
import type { ImageKind } from './naming.js';

/**
 * The cluster resources a mirror run leaves in `working-dir/cluster-resources/`, written the way
 * oc-mirror v2 writes them (sigs.k8s.io/yaml: keys sorted, lists not indented, each document
 * opened by `---`): `idms-oc-mirror.yaml` (ImageDigestMirrorSet) and `itms-oc-mirror.yaml`
 * (ImageTagMirrorSet), `apiVersion: config.openshift.io/v1`, one document per category
 * (`idms-release-0`, `idms-generic-0`; operator catalogs are not mirrored yet), annotations
 * `createdAt` (RFC 3339, UTC) and `createdBy`. Unlike oc-mirror, whose order follows Go map
 * iteration, the output is sorted: categories release then generic, entries by source, mirrors
 * by name; the same input and time give the same bytes.
 */

export const CLUSTER_RESOURCES_DIR = 'cluster-resources';
export const IDMS_FILE = 'idms-oc-mirror.yaml';
export const ITMS_FILE = 'itms-oc-mirror.yaml';

export interface MirroredImage {
  kind: ImageKind;
  /** The reference the image was asked for by (the name clusters use). */
  source: SourceRef;
  /** Where it went: `reg:5000/ns/openshift/release:4.19.3-x86_64-cli`. */
  destination: string;
}

export interface MirrorSetOptions {
  createdAt: Date;
  /** The `createdBy` annotation; oc-mirror writes `oc-mirror v2`. Default `reef`. */
  createdBy?: string;
  /** Every entry scoped to its repository (oc-mirror's `--force-repository-scope`). */
  repositoryScope?: boolean;
}

export type MirrorCategory = 'release' | 'generic';
const CATEGORIES: MirrorCategory[] = ['release', 'generic'];

export interface CategoryMirrors {
  category: MirrorCategory;
  entries: { source: string; mirrors: string[] }[];
}

/** `host/a/b/c:tag@sha256:…` → host and path (`a/b/c`). */
const split = (ref: string) => {
  const noDigest = ref.split('@')[0]!;
  const slash = noDigest.indexOf('/');
  const host = slash < 0 ? '' : noDigest.slice(0, slash);
  let path = slash < 0 ? noDigest : noDigest.slice(slash + 1);
  const colon = path.lastIndexOf(':');
  if (colon >= 0) path = path.slice(0, colon);
  return { host, path };
};

const join = (host: string, path: string) => [host, path].filter(Boolean).join('/');
const repositoryScope = (r: { host: string; path: string }) => join(r.host, r.path);
const namespaceScope = (r: { host: string; path: string }) => join(r.host, r.path.split('/').slice(0, -1).join('/'));

/**
 * The scopes of one entry: the source's and destination's namespaces when the destination path
 * ends with the whole source path (`quay.io/acme/tool` → `reg/ns/acme/tool`: `quay.io/acme` →
 * `reg/ns/acme`), else their repositories (release components and release images).
 */
export const mirrorScopes = (source: string, destination: string, forceRepository = false): { source: string; mirror: string } => {
  const [s, d] = [split(source), split(destination)];
  const nested = d.path === s.path || d.path.endsWith(`/${s.path}`);
  return !forceRepository && nested ? { source: namespaceScope(s), mirror: namespaceScope(d) } : { source: repositoryScope(s), mirror: repositoryScope(d) };
};

/**
 * The entries of the IDMS (`digest`: images asked for by digest, and release images always, as
 * oc-mirror does) or the ITMS (`tag`: images asked for by tag), by category, sorted.
 */
export const imageMirrors = (images: MirroredImage[], mode: 'digest' | 'tag', forceRepository = false): CategoryMirrors[] => {
  const byCategory = new Map<MirrorCategory, Map<string, Set<string>>>();
  for (const img of images) {
    const digestOnly = img.source.digest !== undefined && img.source.tag === undefined;
    const wanted = mode === 'digest' ? img.source.digest !== undefined || img.kind === 'release' : !digestOnly;
    if (!wanted) continue;
    const { source, mirror } = mirrorScopes(img.source.text, img.destination, forceRepository);
    const category: MirrorCategory = img.kind === 'generic' ? 'generic' : 'release';
    const entries = byCategory.get(category) ?? new Map<string, Set<string>>();
    byCategory.set(category, entries);
    entries.set(source, (entries.get(source) ?? new Set()).add(mirror));
  }
  const sorted = (it: Iterable<string>) => [...it].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return CATEGORIES.filter((c) => byCategory.has(c)).map((category) => {
    const entries = byCategory.get(category)!;
    return { category, entries: sorted(entries.keys()).map((source) => ({ source, mirrors: sorted(entries.get(source)!) })) };
  });
};

const YAML_11_WORDS = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$/;
const NUMBER_LIKE = /^[-+]?(\.?\d[\d_]*(\.[\d_]*)?([eE][-+]?\d+)?|\.(inf|Inf|INF|nan|NaN|NAN))$/;
const TIMESTAMP_LIKE = /^\d{4}-\d\d?-\d\d?([Tt ]|$)/;

/** A scalar as go-yaml v2 writes it: plain when it reads back as the same string, else double-quoted. */
export const yamlScalar = (s: string): string =>
  s === '' || YAML_11_WORDS.test(s) || NUMBER_LIKE.test(s) || TIMESTAMP_LIKE.test(s) || !/^[A-Za-z0-9_./][A-Za-z0-9_./:@ -]*$/.test(s) || / $|: | #/.test(s) ? JSON.stringify(s) : s;

/** Go's time.RFC3339 in UTC: `2025-06-01T12:00:00Z` (no fraction). */
export const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

const render = (kind: 'ImageDigestMirrorSet' | 'ImageTagMirrorSet', images: MirroredImage[], opts: MirrorSetOptions): string => {
  const [prefix, listKey] = kind === 'ImageDigestMirrorSet' ? ['idms', 'imageDigestMirrors'] : ['itms', 'imageTagMirrors'];
  return imageMirrors(images, kind === 'ImageDigestMirrorSet' ? 'digest' : 'tag', opts.repositoryScope)
    .map(({ category, entries }) =>
      [
        '---',
        'apiVersion: config.openshift.io/v1',
        `kind: ${kind}`,
        'metadata:',
        '  annotations:',
        `    createdAt: ${yamlScalar(rfc3339(opts.createdAt))}`,
        `    createdBy: ${yamlScalar(opts.createdBy ?? 'reef')}`,
        `  name: ${prefix}-${category}-0`,
        'spec:',
        `  ${listKey}:`,
        ...entries.flatMap((e) => ['  - mirrors:', ...e.mirrors.map((m) => `    - ${yamlScalar(m)}`), `    source: ${yamlScalar(e.source)}`]),
        '',
      ].join('\n'),
    )
    .join('');
};

/** `idms-oc-mirror.yaml`; empty when no image was asked for by digest (oc-mirror then writes no file). */
export const renderIdms = (images: MirroredImage[], opts: MirrorSetOptions): string => render('ImageDigestMirrorSet', images, opts);

/** `itms-oc-mirror.yaml`; empty when no image was asked for by tag. */
export const renderItms = (images: MirroredImage[], opts: MirrorSetOptions): string => render('ImageTagMirrorSet', images, opts);
