import { Readable, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { z } from 'zod';
import type { OciClient } from '../../registry/client/oci-client.js';
import { fromZod, PrestageInputError } from './errors.js';
import { resolveImage, type ResolvedImage } from './manifests.js';

/**
 * Where reef looks for a release image in its registry, in order: oc-mirror v2's layout
 * (`openshift/release-images:<version>-<arch>`), FastRegistry's `local_repo` (`openshift/release`),
 * and the upstream path kept as is (`openshift-release-dev/ocp-release`).
 */
export const RELEASE_REPOS = ['openshift/release-images', 'openshift/release', 'openshift-release-dev/ocp-release'];
/** Where the upstream release lives: the name the release image itself gets in ocp-images.txt. */
export const UPSTREAM_RELEASE = 'quay.io/openshift-release-dev/ocp-release';

const ARCH_SUFFIX = /-(x86_64|aarch64|ppc64le|s390x|multi)$/;
/** `4.19.7` → `4.19.7-x86_64`; a tag that already names an architecture, a digest, or no `arch` keeps it as is. */
export const releaseTag = (version: string, arch = 'x86_64'): string => (!arch || version.includes(':') || ARCH_SUFFIX.test(version) ? version : `${version}-${arch}`);

const imageStream = z.object({
  kind: z.literal('ImageStream'),
  spec: z.object({
    tags: z
      .array(
        z.object({
          name: z.string().min(1),
          from: z.object({ kind: z.literal('DockerImage'), name: z.string().min(1) }),
        }),
      )
      .min(1),
  }),
});
const releaseMetadata = z.object({ kind: z.literal('cincinnati-metadata-v0'), version: z.string().min(1) });

export interface ReleasePayload {
  /** Component name → pull spec (`repo@digest`), from release-manifests/image-references. */
  components: { name: string; image: string }[];
  version: string;
}

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

const WANTED = ['release-manifests/image-references', 'release-manifests/release-metadata'];
const MAX_FILE = 32 * 2 ** 20;

/** Reads the wanted files out of one layer (a tar, gzipped or not), streaming. */
const filesInLayer = async (client: OciClient, repo: string, layer: { digest: string; size: number; mediaType: string }, signal?: AbortSignal) => {
  if (/zstd/.test(layer.mediaType)) throw new Error(`release layer ${layer.digest} is zstd-compressed, which reef cannot read yet`);
  const found = new Map<string, Buffer>();
  const source = Readable.from(client.blobChunks(repo, layer.digest, layer.size, signal));
  const ex = extract();
  const gzipped = /gzip/.test(layer.mediaType);
  const input = gzipped ? source.pipe(createGunzip()) : source;
  source.on('error', (err) => ex.destroy(err));
  input.on('error', (err) => ex.destroy(err));
  input.pipe(ex as unknown as Writable);
  for await (const entry of ex) {
    const name = entry.header.name.replace(/^\.\//, '');
    if (WANTED.includes(name) && (entry.header.size ?? 0) <= MAX_FILE) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      found.set(name, Buffer.concat(chunks));
    } else entry.resume();
  }
  // Read to the end (no early exit): the layer's digest is checked only once all of it went by.
  return found;
};

const parseJson = (bytes: Buffer, what: string): unknown => {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new PrestageInputError(what, `is not JSON (${(err as Error).message})`);
  }
};

/** Parses `image-references` (an ImageStream) and `release-metadata`; errors name the file and field. */
export const parseReleaseFiles = (references: Buffer, metadata: Buffer | undefined): ReleasePayload => {
  const refs = imageStream.safeParse(parseJson(references, 'release-manifests/image-references'));
  if (!refs.success) throw fromZod(refs.error, 'release-manifests/image-references ');
  let version = '';
  if (metadata) {
    const meta = releaseMetadata.safeParse(parseJson(metadata, 'release-manifests/release-metadata'));
    if (!meta.success) throw fromZod(meta.error, 'release-manifests/release-metadata ');
    version = meta.data.version;
  }
  return { version, components: refs.data.spec.tags.map((t) => ({ name: t.name, image: t.from.name })) };
};

/**
 * Reads a release image's payload: `release-manifests/image-references` and `release-metadata`
 * from its last layer (DESIGN §7; earlier layers are searched if the last does not hold them).
 */
export const readReleasePayload = async (client: OciClient, image: ResolvedImage, signal?: AbortSignal): Promise<ReleasePayload> => {
  for (const layer of [...image.layers].reverse()) {
    const files = await filesInLayer(client, image.repo, layer, signal);
    const references = files.get(WANTED[0]!);
    if (references) return parseReleaseFiles(references, files.get(WANTED[1]!));
  }
  throw new Error(`release image ${image.repo}@${image.digest} holds no release-manifests/image-references`);
};
