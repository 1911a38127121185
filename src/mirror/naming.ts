import type { SourceRef } from './image-ref.js';

/**
 * Where mirrored images go, named as oc-mirror v2 names them so that clusters and scripts written
 * for it find them: the release image at `openshift/release-images:<release tag>`, its components
 * at `openshift/release:<release tag>-<component>`, any other image at its own repository path;
 * an image known only by digest gets the tag `sha256-<hex>` and keeps its digest. The same names
 * serve inside an archive (no prefix) and at a destination (`<registry>[/<namespace>]/` before).
 */

export const RELEASE_IMAGES_REPO = 'openshift/release-images';
export const RELEASE_COMPONENTS_REPO = 'openshift/release';

export type ImageKind = 'release' | 'release-component' | 'generic';

export interface MirrorImage {
  kind: ImageKind;
  source: SourceRef;
  /** For a release and its components: the release's tag, `4.19.3-x86_64`. */
  releaseTag?: string;
  /** For a release component: its name in image-references (`cli`). */
  component?: string;
}

export interface MirrorName {
  /** Path under the destination (or the archive's root): `openshift/release`, `acme/tool`. */
  repository: string;
  tag: string;
  /** The source's digest, kept: what the copy must produce and what IDMS entries rely on. */
  digest?: string;
}

const MAX_TAG = 128;

/** `sha256:<hex>` → `sha256-<hex>` (oc-mirror cuts a tag longer than 128 characters to 127). */
export const digestTag = (digest: string): string => {
  const tag = digest.replace(':', '-');
  return tag.length > MAX_TAG ? tag.slice(0, MAX_TAG - 1) : tag;
};

const need = (v: string | undefined, what: string, img: MirrorImage): string => {
  if (!v) throw new Error(`${img.kind} ${img.source.text} needs its ${what} to be named`);
  return v;
};

/** The repository and tag an image gets (the tag of a release: its own, else the release tag, else from its digest). */
export const mirrorName = (img: MirrorImage): MirrorName => {
  const { source } = img;
  const digest = source.digest ? { digest: source.digest } : {};
  switch (img.kind) {
    case 'release':
      return { repository: RELEASE_IMAGES_REPO, tag: source.tag ?? img.releaseTag ?? digestTag(need(source.digest, 'release tag', img)), ...digest };
    case 'release-component':
      return { repository: RELEASE_COMPONENTS_REPO, tag: `${need(img.releaseTag, 'release tag', img)}-${need(img.component, 'component name', img)}`, ...digest };
    case 'generic':
      return { repository: source.repository, tag: source.tag ?? (source.digest ? digestTag(source.digest) : 'latest'), ...digest };
  }
};

/** The name inside an archive: `openshift/release-images:4.19.3-x86_64`, `acme/tool:1`. */
export const archiveReference = (img: MirrorImage): string => {
  const n = mirrorName(img);
  return `${n.repository}:${n.tag}`;
};

/** `docker://reg:5000/ns/` → `reg:5000/ns`. */
export const destinationRoot = (destination: string): string => destination.replace(/^docker:\/\//, '').replace(/\/+$/, '');

/** The name at a destination (`host[:port][/namespace]`): `reg:5000/ns/openshift/release:4.19.3-x86_64-cli`. */
export const destinationReference = (img: MirrorImage, destination: string): string => `${destinationRoot(destination)}/${archiveReference(img)}`;
