import { parseReleaseFiles as parseFiles, readReleaseContents, type ReleaseContents } from '../../mirror/release-contents.js';
import { ARCH_TAG_SUFFIX, UPSTREAM_RELEASE_REPO } from '../../mirror/release-graph.js';
import type { OciClient } from '../../registry/client/oci-client.js';
import { asPrestageError, PrestageInputError } from './errors.js';
import { resolveImage, type ResolvedImage } from './manifests.js';

/**
 * Where reef looks for a release image in its registry, in order: oc-mirror v2's layout
 * (`openshift/release-images:<version>-<arch>`), FastRegistry's `local_repo` (`openshift/release`),
 * and the upstream path kept as is (`openshift-release-dev/ocp-release`).
 */
export const RELEASE_REPOS = ['openshift/release-images', 'openshift/release', 'openshift-release-dev/ocp-release'];
/** Where the upstream release lives: the name the release image itself gets in ocp-images.txt. */
export const UPSTREAM_RELEASE = UPSTREAM_RELEASE_REPO;

const ARCH_SUFFIX = new RegExp(`-(${Object.values(ARCH_TAG_SUFFIX).join('|')})$`);
/** `4.19.7` → `4.19.7-x86_64`; a tag that already names an architecture, a digest, or no `arch` keeps it as is. */
export const releaseTag = (version: string, arch = 'x86_64'): string => (!arch || version.includes(':') || ARCH_SUFFIX.test(version) ? version : `${version}-${arch}`);

/** Component name → pull spec (`repo@digest`), from release-manifests/image-references; the version from release-metadata. */
export type ReleasePayload = ReleaseContents;

export interface FoundRelease {
  repo: string;
  tag: string;
  image: ResolvedImage;
}

/** Finds `<version>-<arch>` in the first of `repos` that has it. */
export const findRelease = async (client: OciClient, version: string, opts: { repos?: string[]; arch?: string; signal?: AbortSignal } = {}): Promise<FoundRelease> => {
  const tag = releaseTag(version, opts.arch);
  const repos = opts.repos ?? RELEASE_REPOS;
  for (const repo of repos) {
    try {
      return { repo, tag, image: await resolveImage(client, repo, tag, undefined, opts.signal) };
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
    }
  }
  throw new PrestageInputError('--release', `no release image ${tag} in the registry (looked in ${repos.map((r) => `${r}:${tag}`).join(', ')})`);
};

/** The mirror core's parser of `image-references` and `release-metadata`, its errors as PrestageInputError. */
export const parseReleaseFiles = (references: Buffer, metadata: Buffer | undefined): ReleasePayload => {
  try {
    return parseFiles(references, metadata);
  } catch (err) {
    throw asPrestageError(err);
  }
};

/**
 * Reads a release image's payload from reef's registry: `release-manifests/image-references` and
 * `release-metadata`, from its last layer first (DESIGN §7), streamed through the mirror core.
 */
export const readReleasePayload = async (client: OciClient, image: ResolvedImage, signal?: AbortSignal): Promise<ReleasePayload> => {
  const layers = image.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, chunks: () => client.blobChunks(image.repo, l.digest, l.size, signal) }));
  try {
    return await readReleaseContents(layers, `release image ${image.repo}@${image.digest}`);
  } catch (err) {
    throw asPrestageError(err);
  }
};
