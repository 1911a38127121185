import { OciClientError, type OciClient } from '../../registry/client/oci-client.js';
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

const matches = (want: Platform, got: Platform | undefined) =>
  !!got && got.os === want.os && got.architecture === want.architecture && (!want.variant || got.variant === want.variant);

/**
 * GETs `repo` at `reference` and, for a manifest list / OCI index, the entry for `platform`
 * (kept with the index in `index`). Throws OciClientError for registry errors and plain Errors
 * for content reef cannot archive.
 */
export const resolveImage = async (client: OciClient, repo: string, reference: string, platform: Platform = LINUX_AMD64, signal?: AbortSignal): Promise<ResolvedImage> => {
  let m = await client.getManifest(repo, reference, signal);
  let doc = JSON.parse(m.bytes.toString('utf8')) as Doc;
  let index: ResolvedImage['index'];
  if (Array.isArray(doc.manifests)) {
    index = { digest: m.digest, bytes: m.bytes };
    const pick = doc.manifests.find((d) => matches(platform, d.platform));
    if (!pick) {
      const have = doc.manifests.map((d) => (d.platform ? `${d.platform.os}/${d.platform.architecture}` : '?')).join(', ');
      throw new OciClientError(`${repo}@${m.digest} is a multi-platform index without ${platform.os}/${platform.architecture} (it has ${have || 'nothing'})`, 404);
    }
    m = await client.getManifest(repo, pick.digest, signal);
    doc = JSON.parse(m.bytes.toString('utf8')) as Doc;
  }
  if (doc.schemaVersion !== 2 || !doc.config || !Array.isArray(doc.layers)) {
    throw new OciClientError(`${repo}@${m.digest} is not an image manifest reef can archive (schema ${doc.schemaVersion}, ${doc.mediaType ?? m.mediaType})`, 415);
  }
  const layers = doc.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
  const config = { digest: doc.config.digest, size: doc.config.size, mediaType: doc.config.mediaType };
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
