import type { BlobRef, ManifestNode } from '../mirror/archive/image-input.js';
import { parseSourceRef, type SourceRef } from '../mirror/image-ref.js';
import { fetchTree, treeBlobs } from '../mirror/manifest-tree.js';
import { mapPool } from '../mirror/pool.js';
import { readReleaseContents, type ReleaseContents } from '../mirror/release-contents.js';
import type { ClientPool } from '../mirror/sources.js';
import { pushedChunks } from '../registry/client/pushed-chunks.js';
import { OciClientError, type OciClient } from '../registry/client/oci-client.js';
import { createLimiter, createOnce } from './limiter.js';
import { checkedBlob, type LocalRegistry } from './local-registry.js';
import type { CloneProgress } from './release.js';

/**
 * A release cloned into reef's own registry the way `oc adm release mirror` lays it out (the
 * convention FastRegistry follows): the release image and every component of its
 * `image-references` in one repository (`local_repo`), by digest, manifest lists whole; tags
 * `<release tag>` and `<release tag>-<component>` keep them from GC. Order: the release's
 * manifests (pulling_manifest), its blobs (pulling_blobs), then every component
 * (mirroring_components: blobs once each across all of them, then its manifests), and the
 * release's own tag last, so the tag's presence means the clone went through.
 *
 * A blob `local_repo` already holds is never fetched again, so a clone cut by a crash, a restart or
 * a reset resumes where it stood; `signal` stops it for real. Only `local_repo` counts: a blob
 * another repository holds is downloaded like any other (linking it would bypass the registry's
 * rule that a repository reads only the blobs pushed or mounted into it).
 */
export interface CloneRequest {
  /** `quay.io` */
  upstream: string;
  /** `openshift-release-dev/ocp-release` */
  repository: string;
  /** `4.21.0-x86_64` */
  tag: string;
  /** `openshift/release` in reef's registry. */
  localRepo: string;
}

export interface CloneDeps {
  /** Upstream clients by registry host (auth file, token flow, retries). */
  clients: ClientPool;
  /** reef's own registry, written in process. */
  local: LocalRegistry;
  parallelImages: number;
  parallelLayers: number;
  signal: AbortSignal;
  onProgress(p: CloneProgress): void;
}

export interface ClonedComponent {
  name: string;
  /** The pull spec in image-references. */
  image: string;
  digest: string;
}

export interface CloneResult {
  upstreamDigest: string;
  /** Bytes of every blob of the release and its components, once each. */
  size: number;
  components: ClonedComponent[];
}

/** The image manifest whose layers hold release-manifests (an index's first entry: they all share that layer). */
const payloadImage = (tree: ManifestNode): ManifestNode => tree.children?.[0] ?? tree;

const layersOf = (node: ManifestNode): { digest: string; mediaType: string; size: number }[] =>
  (JSON.parse(Buffer.from(node.manifest.bytes).toString('utf8')) as { layers?: { digest: string; mediaType: string; size: number }[] }).layers ?? [];

/** What image-references and release-metadata say, read from reef's copy of the release's layers. */
export const readLocalRelease = async (local: LocalRegistry, localRepo: string, tree: ManifestNode, what: string): Promise<ReleaseContents> => {
  const image = payloadImage(tree);
  const layers = layersOf(image).map((l) => ({ digest: l.digest, mediaType: l.mediaType, chunks: () => checkedBlob(local, localRepo, l.digest, l.size) }));
  return readReleaseContents(layers, what);
};

/** Puts an index's children by digest, then the top manifest under `reference`. */
export const putTree = async (local: LocalRegistry, repo: string, tree: ManifestNode, reference: string): Promise<void> => {
  for (const c of tree.children ?? []) await local.putManifest(repo, c.manifest.digest, Buffer.from(c.manifest.bytes), c.manifest.mediaType);
  await local.putManifest(repo, reference, Buffer.from(tree.manifest.bytes), tree.manifest.mediaType);
};

/**
 * A component's manifests: from the configured upstream at the pull spec's path first ("keep the
 * path, swap the host": a mirror of quay.io holds the same paths, and the digest pins the content),
 * then from the registry the pull spec names, when that is another and the upstream lacks it.
 */
const componentTree = async (clients: ClientPool, upstream: string, ref: SourceRef, signal: AbortSignal) => {
  signal.throwIfAborted(); // a reset stops the ~200 fetches still queued, not only the ones in flight
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const hosts = ref.host === upstream ? [upstream] : [upstream, ref.host];
  for (const [i, host] of hosts.entries()) {
    const from = clients(host);
    try {
      return { tree: (await fetchTree(from, ref.repository, reference, ['multi'], signal)).tree, from };
    } catch (err) {
      signal.throwIfAborted();
      if (i === hosts.length - 1 || !(err instanceof OciClientError) || err.status !== 404) throw err;
    }
  }
  throw new Error(`${ref.text}: not found`);
};

export const cloneRelease = async (req: CloneRequest, d: CloneDeps): Promise<CloneResult> => {
  const { signal } = d;
  const p: CloneProgress = { phase: 'pulling_manifest', totalBlobs: 0, syncedBlobs: 0, totalBytes: 0, syncedBytes: 0, totalComponents: 0, mirroredComponents: 0, currentComponent: '' };
  const report = () => d.onProgress({ ...p });
  report();
  const upstream = d.clients(req.upstream);
  // A release named by tag is kept whole: a -multi payload is a manifest list, copied as it is.
  const { tree: release } = await fetchTree(upstream, req.repository, req.tag, ['multi'], signal);
  signal.throwIfAborted();

  const known = new Map<string, BlobRef>();
  const count = (blobs: BlobRef[]) => {
    for (const b of blobs) {
      if (known.has(b.digest)) continue;
      known.set(b.digest, b);
      p.totalBlobs++;
      p.totalBytes += b.size;
    }
  };
  const limit = createLimiter(d.parallelLayers);
  const once = createOnce<void>();
  const copy = (from: OciClient, fromRepo: string, b: BlobRef) =>
    once(b.digest, () =>
      limit(async () => {
        signal.throwIfAborted();
        let last = 0;
        const onProgress = (done: number) => {
          p.syncedBytes += done - last;
          last = done;
          report();
        };
        if (await d.local.blobExists(req.localRepo, b.digest)) onProgress(b.size);
        else {
          // Read into one reused buffer (blobPush), each chunk written before the next read: no
          // garbage per read. Hashed once, by the registry as it writes: it commits nothing whose
          // bytes are not the digest.
          let done = 0;
          const chunks = pushedChunks(
            (onData, sig) =>
              from.blobPush(fromRepo, b.digest, b.size, (chunk) => {
                onProgress((done += chunk.length));
                return onData(chunk);
              }, sig, { checkDigest: false }),
            signal,
          );
          await d.local.writeBlob(req.localRepo, b.digest, chunks, signal);
        }
        p.syncedBlobs++;
        report();
      }),
    );
  const copyAll = async (from: OciClient, fromRepo: string, blobs: BlobRef[]) => {
    const results = await Promise.allSettled(blobs.map((b) => copy(from, fromRepo, b)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  };

  const releaseBlobs = treeBlobs(release);
  count(releaseBlobs);
  p.phase = 'pulling_blobs';
  report();
  await copyAll(upstream, req.repository, releaseBlobs);
  const contents = await readLocalRelease(d.local, req.localRepo, release, `${req.upstream}/${req.repository}:${req.tag}`);
  signal.throwIfAborted();

  const components = contents.components.map((c) => ({ ...c, ref: parseSourceRef(c.image, `image-references ${c.name}`) }));
  p.phase = 'mirroring_components';
  p.totalComponents = components.length;
  report();
  // Every component's manifests first, so the totals are whole before the bytes move.
  const trees = await mapPool(components, d.parallelImages * 2, (c) => componentTree(d.clients, req.upstream, c.ref, signal));
  const firstFailure = trees.find((t) => t.status === 'rejected');
  if (firstFailure) throw (firstFailure as PromiseRejectedResult).reason;
  const found = (i: number) => (trees[i] as PromiseFulfilledResult<{ tree: ManifestNode; from: OciClient }>).value;
  const treeOf = (i: number) => found(i).tree;
  components.forEach((_, i) => count(treeBlobs(treeOf(i))));
  report();

  const done = await mapPool(components, d.parallelImages, async (c, i) => {
    signal.throwIfAborted();
    p.currentComponent = c.name;
    report();
    const tree = treeOf(i);
    await copyAll(found(i).from, c.ref.repository, treeBlobs(tree));
    await putTree(d.local, req.localRepo, tree, `${req.tag}-${c.name}`);
    p.mirroredComponents++;
    report();
  });
  const failures = done.map((r, i) => (r.status === 'rejected' ? `${components[i]!.name}: ${(r.reason as Error)?.message ?? String(r.reason)}` : undefined)).filter((m): m is string => m !== undefined);
  signal.throwIfAborted();
  if (failures.length) throw new Error(`${failures.length} of ${components.length} components failed: ${failures.slice(0, 3).join('; ')}${failures.length > 3 ? '; …' : ''}`);
  await putTree(d.local, req.localRepo, release, req.tag);
  return {
    upstreamDigest: release.manifest.digest,
    size: p.totalBytes,
    components: components.map((c, i) => ({ name: c.name, image: c.image, digest: treeOf(i).manifest.digest })),
  };
};
