import { OciClientError, type OciClient } from '../../registry/client/oci-client.js';
import { isDigest } from '../../registry/core/digest.js';
import type { ArchiveBlob } from './image-archive.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export const LINUX_AMD64: Platform = { os: 'linux', architecture: 'amd64' };

/** An image manifest resolved for one platform, with the manifest list / index it came through. */
export interface ResolvedImage {
  repo: string;
  /** Digest of `bytes` (of the platform's manifest when the reference named an index). */
  digest: string;
  bytes: Buffer;
  mediaType: string;
  /** Config first, then the layers in order. */
  blobs: ArchiveBlob[];
  layers: ArchiveBlob[];
  /**
   * The manifest list / OCI index the reference named, as served (its digest is the one in a
   * digest reference); absent when the reference named the image manifest itself.
   */
  index?: { digest: string; bytes: Buffer };
}

interface Doc {
  schemaVersion?: number;
  mediaType?: string;
  manifests?: { digest: string; mediaType?: string; platform?: Platform }[];
  config?: ArchiveBlob;
  layers?: ArchiveBlob[];
}

/**
 * A descriptor from a registry's manifest, checked before anything uses it: its digest becomes a
 * file name in the archive and its size a byte count, so only sha256/sha512 hex digests and
 * whole non-negative sizes are taken (a digest like `sha256:../../x` would be a path).
 */
const checked = (d: unknown, where: string, repo: string, manifest: string): ArchiveBlob => {
  const x = (d ?? {}) as { digest?: unknown; size?: unknown; mediaType?: unknown };
  if (typeof x.digest !== 'string' || !isDigest(x.digest)) {
    throw new OciClientError(`${repo}@${manifest}: ${where}.digest ${JSON.stringify(x.digest)} is not a sha256 or sha512 digest`, 502);
  }
  if (typeof x.size !== 'number' || !Number.isSafeInteger(x.size) || x.size < 0) {
    throw new OciClientError(`${repo}@${manifest}: ${where}.size ${JSON.stringify(x.size)} is not a whole number of bytes`, 502);
  }
  return { digest: x.digest, size: x.size, mediaType: typeof x.mediaType === 'string' ? x.mediaType : '' };
};

const parse = (bytes: Buffer, repo: string, digest: string): Doc => {
  try {
    return JSON.parse(bytes.toString('utf8')) as Doc;
  } catch (err) {
    throw new OciClientError(`${repo}@${digest}: the manifest is not JSON (${(err as Error).message})`, 502);
  }
};

const matches = (want: Platform, got: Platform | undefined) =>
  !!got && got.os === want.os && got.architecture === want.architecture && (!want.variant || got.variant === want.variant);

/**
 * GETs `repo` at `reference` and, for a manifest list / OCI index, the entry for `platform`
 * (kept with the index in `index`). Throws OciClientError for registry errors and plain Errors
 * for content reef cannot archive.
 */
export const resolveImage = async (client: OciClient, repo: string, reference: string, platform: Platform = LINUX_AMD64, signal?: AbortSignal): Promise<ResolvedImage> => {
  let m = await client.getManifest(repo, reference, signal);
  let doc = parse(m.bytes, repo, m.digest);
  let index: ResolvedImage['index'];
  if (Array.isArray(doc.manifests)) {
    index = { digest: m.digest, bytes: m.bytes };
    const pick = doc.manifests.find((d) => matches(platform, d.platform));
    if (!pick) {
      const have = doc.manifests.map((d) => (d.platform ? `${d.platform.os}/${d.platform.architecture}` : '?')).join(', ');
      throw new OciClientError(`${repo}@${m.digest} is a multi-platform index without ${platform.os}/${platform.architecture} (it has ${have || 'nothing'})`, 404);
    }
    if (typeof pick.digest !== 'string' || !isDigest(pick.digest)) {
      throw new OciClientError(`${repo}@${m.digest}: the index entry for ${platform.os}/${platform.architecture} has digest ${JSON.stringify(pick.digest)}, not a sha256 or sha512 digest`, 502);
    }
    m = await client.getManifest(repo, pick.digest, signal);
    doc = parse(m.bytes, repo, m.digest);
  }
  if (doc.schemaVersion !== 2 || !doc.config || !Array.isArray(doc.layers)) {
    throw new OciClientError(`${repo}@${m.digest} is not an image manifest reef can archive (schema ${doc.schemaVersion}, ${doc.mediaType ?? m.mediaType})`, 415);
  }
  const layers = doc.layers.map((l, i) => checked(l, `layers[${i}]`, repo, m.digest));
  const config = checked(doc.config, 'config', repo, m.digest);
  return { repo, digest: m.digest, bytes: m.bytes, mediaType: doc.mediaType ?? m.mediaType, blobs: [config, ...layers], layers, ...(index ? { index } : {}) };
};

/** Total bytes of an image's distinct blobs. */
export const imageBytes = (img: { blobs: ArchiveBlob[] }): number => {
  const seen = new Set<string>();
  let total = 0;
  for (const b of img.blobs) {
    if (seen.has(b.digest)) continue;
    seen.add(b.digest);
    total += b.size;
  }
  return total;
};
