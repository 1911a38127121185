import type { ManifestNode } from './archive/image-input.js';
import { copyBlob } from '../registry/client/blob-copy.js';
import type { OciClient } from '../registry/client/oci-client.js';
import { mapPool } from './pool.js';

/** Which destination repositories hold which blob, so later images mount instead of copying. */
export type BlobLocations = Map<string, Set<string>>;

export interface PushTreeOptions {
  src: OciClient;
  srcRepo: string;
  dst: OciClient;
  dstRepo: string;
  /** The tag the top manifest gets at the destination. */
  tag: string;
  parallelLayers: number;
  locations: BlobLocations;
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
}

/** What a copy did, for the summary: blobs copied, mounted, already there, and bytes moved. */
export interface PushTreeStats {
  copied: number;
  mounted: number;
  present: number;
  bytes: number;
}

/**
 * Copies a manifest tree into the destination: blobs first (parallelLayers at once; HEAD skips,
 * cross-repository mounts, streamed copies resumed after drops), then each child manifest by
 * digest, then the top one by tag. A manifest is put only once everything it names is there, so
 * a run cut short never leaves a tag pointing at a missing blob.
 */
export const pushTree = async (tree: ManifestNode, o: PushTreeOptions): Promise<PushTreeStats> => {
  const stats: PushTreeStats = { copied: 0, mounted: 0, present: 0, bytes: 0 };
  const node = async (n: ManifestNode, reference: string) => {
    for (const c of n.children ?? []) await node(c, c.manifest.digest);
    const results = await mapPool(n.blobs ?? [], o.parallelLayers, async (b) => {
      let last = 0;
      const r = await copyBlob({
        from: o.src,
        fromRepo: o.srcRepo,
        to: o.dst,
        toRepo: o.dstRepo,
        digest: b.digest,
        size: b.size,
        mountFrom: [...(o.locations.get(b.digest) ?? [])].filter((repo) => repo !== o.dstRepo),
        onProgress: (done) => {
          o.onBytes?.(done - last);
          last = done;
        },
        ...(o.signal ? { signal: o.signal } : {}),
      });
      if (!o.locations.has(b.digest)) o.locations.set(b.digest, new Set());
      o.locations.get(b.digest)!.add(o.dstRepo);
      stats[r.outcome === 'present' ? 'present' : r.outcome]++;
      if (r.outcome === 'copied') stats.bytes += b.size;
    });
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    await o.dst.putManifest(o.dstRepo, reference, Buffer.from(n.manifest.bytes), n.manifest.mediaType);
  };
  await node(tree, o.tag);
  return stats;
};
