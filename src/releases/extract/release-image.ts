/**
 * A release image as extraction needs it, for one architecture: the image for that platform
 * (a multi-arch release is a manifest list: its entry for linux/<arch>), its config's platform,
 * its layers, and what its image-references name. Images of components are read the same way.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { readReleaseContents, type ReleaseContents } from '../../mirror/release-contents.js';
import { platformsOf, selectPlatforms } from '../../registry/client/manifests.js';
import { ReleaseSourceError } from '../errors.js';
import type { ImageSource } from './image-source.js';
import type { LayerRef } from './layer-files.js';
import { goArch, type ReleaseArch } from './tool-table.js';

const INDEX = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const MAX_CONFIG = 4 * 1024 * 1024;

const descriptor = z.object({ mediaType: z.string().default(''), digest: z.string().regex(/^sha(256|512):[a-f0-9]+$/), size: z.number().int().nonnegative() });
const imageManifest = z.object({ config: descriptor, layers: z.array(descriptor) });
const imageConfig = z.object({ os: z.string().default(''), architecture: z.string().default('') });

export interface PlatformImage {
  /** Digest of the manifest named (a list's, for a multi-arch image). */
  digest: string;
  /** Digest of the image manifest for the platform. */
  imageDigest: string;
  /** True when `digest` names a manifest list or index. */
  list: boolean;
  layers: (LayerRef & { mediaType: string })[];
  config: { digest: string; size: number };
}

/** The image of `repo:reference` for linux/<arch>: itself, or its entry in a list. */
export const platformImage = async (source: ImageSource, repo: string, reference: string, arch: ReleaseArch, signal?: AbortSignal): Promise<PlatformImage> => {
  const top = await source.getManifest(repo, reference, signal);
  let image = top;
  if (INDEX.has(top.mediaType)) {
    const entries = platformsOf(top.bytes).filter((e) => (e.platform?.os ?? 'linux') === 'linux');
    const entry = selectPlatforms(entries, [goArch(arch)])[0];
    if (!entry) {
      const has = entries.map((e) => e.platform?.architecture ?? '?').join(', ') || 'none';
      throw new ReleaseSourceError(`${repo}@${top.digest} has no image for linux/${goArch(arch)} (${arch}); it has ${has}`);
    }
    image = await source.getManifest(repo, entry.digest, signal);
    if (INDEX.has(image.mediaType)) throw new ReleaseSourceError(`${repo}@${entry.digest}: a list inside a list`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(image.bytes.toString('utf8'));
  } catch {
    throw new ReleaseSourceError(`${repo}@${image.digest}: the manifest is not JSON`);
  }
  const parsed = imageManifest.safeParse(doc);
  if (!parsed.success) throw new ReleaseSourceError(`${repo}@${image.digest}: not an image manifest (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`);
  return { digest: top.digest, imageDigest: image.digest, list: image !== top, layers: parsed.data.layers, config: parsed.data.config };
};

/** A small blob (an image config), read whole and checked against its digest. */
export const readSmallBlob = async (source: ImageSource, repo: string, d: { digest: string; size: number }, signal?: AbortSignal): Promise<Buffer> => {
  if (d.size > MAX_CONFIG) throw new ReleaseSourceError(`${repo}@${d.digest}: ${d.size} bytes, more than an image config may be`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of await source.openBlob(repo, d.digest, signal)) {
    total += (c as Buffer).length;
    if (total > MAX_CONFIG) throw new ReleaseSourceError(`${repo}@${d.digest}: longer than its descriptor says`);
    chunks.push(c as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  const [alg, hex] = d.digest.split(':') as [string, string];
  if (createHash(alg).update(bytes).digest('hex') !== hex) throw new ReleaseSourceError(`${repo}@${d.digest}: the blob does not match its digest`);
  return bytes;
};

export interface ReleaseImage extends PlatformImage {
  /** `linux/amd64`, or `multi (linux/amd64)` for a multi-arch release (what oc stamps). */
  platform: string;
  contents: ReleaseContents;
}

/** The release image for `arch`, with its contents (image-references, release-metadata). */
export const readReleaseImage = async (source: ImageSource, repo: string, reference: string, arch: ReleaseArch, signal?: AbortSignal): Promise<ReleaseImage> => {
  const image = await platformImage(source, repo, reference, arch, signal);
  const config = imageConfig.safeParse(JSON.parse((await readSmallBlob(source, repo, image.config, signal)).toString('utf8')));
  const os = (config.success && config.data.os) || 'unknown';
  const architecture = (config.success && config.data.architecture) || 'unknown';
  if (!image.list && architecture !== goArch(arch)) {
    throw new ReleaseSourceError(`${repo}:${reference} is a release for ${os}/${architecture}, not for ${arch}`);
  }
  const platform = image.list ? `multi (${os}/${architecture})` : `${os}/${architecture}`;
  const layers = image.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, chunks: () => iterate(source, repo, l.digest, signal) }));
  const contents = await readReleaseContents(layers, `${repo}:${reference}`);
  return { ...image, platform, contents };
};

async function* iterate(source: ImageSource, repo: string, digest: string, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for await (const c of await source.openBlob(repo, digest, signal)) yield c as Uint8Array;
}
