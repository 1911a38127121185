import { ARCH_TAG_SUFFIX } from '../../mirror/release-graph.js';
import type { OciClient } from '../../registry/client/oci-client.js';
import { PrestageInputError } from './errors.js';
import { imageDirName, parseSourceRef, registryReference, type SourceRef } from './image-ref.js';
import { type ImageSet, isBlocked, resolveChannels } from './imageset.js';
import type { ResolvedImage } from './manifests.js';
import { findRelease, readReleasePayload, UPSTREAM_RELEASE } from './release.js';

export type ListName = 'ai-images' | 'ocp-images';

/** One image to pre-cache: its source name, which lists it goes in, and where reef's registry may hold it. */
export interface WantedImage {
  ref: SourceRef;
  /** `<name>.tgz` on the partition. */
  name: string;
  lists: Set<ListName>;
  /** Repositories in reef's registry to try, in order (the source path first). */
  repos: string[];
  /** Tag or digest to ask for. */
  reference: string;
  /** Already resolved (release images found while planning). */
  resolved?: ResolvedImage;
}

export interface PlanSources {
  aiImages?: (string | SourceRef)[];
  ocpImages?: (string | SourceRef)[];
  /** `4.19.7` or `4.19.7-x86_64`: a release image held in reef's registry. */
  release?: string;
  imageset?: ImageSet;
  /** Release architecture for tags (`x86_64`). */
  arch?: string;
  signal?: AbortSignal;
}

/** Repositories where mirrors put release components besides the source path (oc-mirror v2, FastRegistry). */
const COMPONENT_REPOS = ['openshift/release'];

const toRef = (r: string | SourceRef, field: string): SourceRef => (typeof r === 'string' ? parseSourceRef(r, field) : r);

/**
 * Expands the sources (lists, release, ImageSetConfiguration) into the images to pre-cache:
 * additionalImages and --ai-images go to ai-images.txt; --ocp-images, each release's components
 * (image-references) and the release image itself go to ocp-images.txt. Source names map onto
 * reef's registry by keeping the path and swapping the host (`quay.io/a/b@sha256:…` →
 * `<registry>/a/b@sha256:…`); release components are also looked for in the repository the
 * release image came from and in `openshift/release`. Two images that would share a `.tgz`
 * name are an error.
 */
export const planImages = async (client: OciClient, src: PlanSources): Promise<WantedImage[]> => {
  const byText = new Map<string, WantedImage>();
  const blocked = src.imageset?.blockedImages ?? [];
  const add = (ref: SourceRef, list: ListName, extraRepos: string[] = [], resolved?: ResolvedImage) => {
    if (isBlocked(ref, blocked)) return;
    const have = byText.get(ref.text);
    if (have) {
      have.lists.add(list);
      return;
    }
    const repos = [...new Set([ref.repository, ...extraRepos])];
    byText.set(ref.text, { ref, name: imageDirName(ref.text), lists: new Set([list]), repos, reference: registryReference(ref), ...(resolved ? { resolved } : {}) });
  };
  (src.aiImages ?? []).forEach((r) => add(toRef(r, '--ai-images'), 'ai-images'));
  (src.imageset?.additionalImages ?? []).forEach((r) => add(r, 'ai-images'));
  (src.ocpImages ?? []).forEach((r) => add(toRef(r, '--ocp-images'), 'ocp-images'));

  const arch = src.arch ?? 'x86_64';
  const releases: { version: string; repos?: string[] }[] = [];
  if (src.release) releases.push({ version: src.release });
  if (src.imageset) {
    const want = Object.entries(ARCH_TAG_SUFFIX).find(([, v]) => v === arch)?.[0] ?? arch;
    if (src.imageset.channels.length > 0 && !src.imageset.architectures.includes(want)) {
      throw new PrestageInputError('--imageset mirror.platform.architectures', `does not include ${want}, the architecture being pre-cached`);
    }
    for (const r of await resolveChannels(client, src.imageset.channels, arch)) releases.push({ version: r.tag, repos: [r.repo] });
  }
  const addRelease = async (found: Awaited<ReturnType<typeof findRelease>>, sourceText: string) => {
    const payload = await readReleasePayload(client, found.image, src.signal);
    add(parseSourceRef(sourceText, 'release'), 'ocp-images', [found.repo], found.image);
    payload.components.forEach((c, i) => add(parseSourceRef(c.image, `release ${found.repo}:${found.tag} image-references spec.tags[${i}].from.name`), 'ocp-images', [found.repo, ...COMPONENT_REPOS]));
  };
  for (const r of releases) {
    const found = await findRelease(client, r.version, { arch, repos: r.repos, signal: src.signal });
    await addRelease(found, `${UPSTREAM_RELEASE}:${found.tag}`);
  }
  for (const ref of src.imageset?.releases ?? []) {
    const repos = [...new Set([ref.repository, 'openshift/release-images', 'openshift/release'])];
    const found = await findRelease(client, registryReference(ref), { repos, arch: '', signal: src.signal }).catch((err: unknown) => {
      throw err instanceof PrestageInputError ? new PrestageInputError('--imageset mirror.platform.release', `${ref.text} is not in the registry (looked in ${repos.join(', ')})`) : err;
    });
    await addRelease(found, ref.text);
  }

  const byName = new Map<string, WantedImage>();
  for (const w of byText.values()) {
    const clash = byName.get(w.name);
    if (clash) throw new PrestageInputError('images', `${clash.ref.text} and ${w.ref.text} would both be stored as ${w.name}.tgz (the partition layout names archives by the last path segment)`);
    byName.set(w.name, w);
  }
  return [...byText.values()];
};

/** The mirror reference an image was fetched from, for mapping.txt. */
export const mirrorText = (registry: string, repo: string, ref: SourceRef): string => `${registry}/${repo}${ref.digest ? `@${ref.digest}` : `:${ref.tag ?? 'latest'}`}`;
