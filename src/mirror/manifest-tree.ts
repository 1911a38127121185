import { createHash } from 'node:crypto';
import type { OciClient } from '../registry/client/oci-client.js';
import { platformsOf, selectPlatforms } from '../registry/client/manifests.js';
import type { BlobRef, ManifestNode } from './archive/image-input.js';

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

/** Config and layers of an image manifest, with sizes; foreign layers (with urls) are not blobs of the registry. */
const blobsOf = (bytes: Buffer, where: string): BlobRef[] => {
  const doc = JSON.parse(bytes.toString('utf8')) as { config?: { digest: string; size: number }; layers?: { digest: string; size: number; urls?: string[] }[] };
  if (!doc.config?.digest) throw new Error(`${where}: an image manifest without a config`);
  const blobs = [doc.config, ...(doc.layers ?? []).filter((l) => !l.urls?.length)];
  return [...new Map(blobs.map((b) => [b.digest, { digest: b.digest, size: b.size }])).values()];
};

/** Where fetchTree reads manifests: any registry over HTTP (OciClient), or reef's own in process. */
export type ManifestReader = Pick<OciClient, 'getManifest'>;

export interface TreeResult {
  tree: ManifestNode;
  /** The index was cut down to the wanted architectures, so its digest is not the source's. */
  rewritten: boolean;
}

/**
 * The manifest of `repo:reference` with everything it needs: an image manifest's config and layers;
 * an index's children for `architectures` (`multi`: all; all for an index named by digest). An index that loses entries is rewritten
 * to list only the kept ones (a registry refuses an index naming manifests it lacks); its digest
 * then differs from the source's, which the caller reports.
 */
export const fetchTree = async (src: ManifestReader, repo: string, reference: string, architectures: readonly string[], signal?: AbortSignal): Promise<TreeResult> => {
  const m = await src.getManifest(repo, reference, signal);
  if (!INDEX_TYPES.has(m.mediaType)) return { tree: { manifest: m, blobs: blobsOf(m.bytes, `${repo}@${m.digest}`) }, rewritten: false };
  const entries = platformsOf(m.bytes);
  // An image named by digest (every release component is) must keep that digest, or what refers
  // to it (the release, an IDMS) finds nothing: its index is copied whole.
  const kept = reference.includes(':') && reference.startsWith('sha256:') ? entries : selectPlatforms(entries, architectures);
  if (kept.length === 0) throw new Error(`${repo}:${reference} has no manifest for ${architectures.join(', ')} (it has ${entries.map((e) => e.platform?.architecture ?? '?').join(', ')})`);
  const children: ManifestNode[] = [];
  for (const e of kept) {
    const child = await src.getManifest(repo, e.digest, signal);
    if (INDEX_TYPES.has(child.mediaType)) throw new Error(`${repo}@${e.digest}: an index inside an index is not mirrored`);
    children.push({ manifest: child, blobs: blobsOf(child.bytes, `${repo}@${e.digest}`) });
  }
  if (kept.length === entries.length) return { tree: { manifest: m, children }, rewritten: false };
  const doc = JSON.parse(m.bytes.toString('utf8')) as { manifests: { digest: string }[] };
  const keep = new Set(kept.map((e) => e.digest));
  const bytes = Buffer.from(JSON.stringify({ ...doc, manifests: doc.manifests.filter((e) => keep.has(e.digest)) }));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return { tree: { manifest: { bytes, mediaType: m.mediaType, digest }, children }, rewritten: true };
};

/** Every blob of a tree, once. */
export const treeBlobs = (tree: ManifestNode): BlobRef[] => {
  const all = new Map<string, BlobRef>();
  const walk = (n: ManifestNode) => {
    for (const b of n.blobs ?? []) all.set(b.digest, b);
    for (const c of n.children ?? []) walk(c);
  };
  walk(tree);
  return [...all.values()];
};
