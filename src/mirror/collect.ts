import { type SourceRef, parseSourceRef } from './image-ref.js';
import { type ImageSetConfiguration, isBlocked } from './imageset.js';
import type { MirrorImage } from './naming.js';
import { readReleaseContents, type ReleaseLayer } from './release-contents.js';
import type { FetchLike } from './release-graph.js';
import { type ResolvedRelease, resolveReleases } from './release-resolve.js';

export interface CollectDeps {
  /** Tags of a repository named in full (`quay.io/openshift-release-dev/ocp-release`). */
  listTags(repository: string): Promise<string[]>;
  /** The layers of a release image (an index resolved to `architecture`; `multi` keeps the index's first entry). */
  releaseLayers(image: SourceRef, architecture: string): Promise<ReleaseLayer[]>;
  graph?: { url: string; fetch: FetchLike };
  /** Said once when the update graph cannot be reached and tags are used instead. */
  warn(message: string): void;
}

export interface Collected {
  images: MirrorImage[];
  releases: ResolvedRelease[];
  /** Images the ISC names that its blockedImages exclude. */
  blocked: string[];
}

const keyOf = (img: MirrorImage) => `${img.kind} ${img.source.text} ${img.releaseTag ?? ''} ${img.component ?? ''}`;

/**
 * Everything an ImageSetConfiguration asks for, as MirrorImages named the way oc-mirror names
 * them: each resolved release image, every component its image-references lists, then the
 * additional images; blocked ones left out (and listed), duplicates once.
 */
export const collectImages = async (isc: ImageSetConfiguration, deps: CollectDeps): Promise<Collected> => {
  const releases = isc.channels.length
    ? await resolveReleases({ channels: isc.channels, architectures: isc.architectures, listTags: deps.listTags, onFallback: deps.warn, ...(deps.graph ? { graph: deps.graph } : {}) })
    : [];
  const images = new Map<string, MirrorImage>();
  const blocked: string[] = [];
  const add = (img: MirrorImage) => {
    if (isBlocked(img.source, isc.blockedImages)) {
      blocked.push(img.source.text);
      return;
    }
    images.set(keyOf(img), img);
  };
  const release = async (source: SourceRef, architecture: string, tag: string | undefined) => {
    const contents = await readReleaseContents(await deps.releaseLayers(source, architecture), source.text);
    const releaseTag = tag ?? source.tag ?? `${contents.version}-${architecture === 'multi' ? 'multi' : architecture === 'amd64' ? 'x86_64' : architecture === 'arm64' ? 'aarch64' : architecture}`;
    add({ kind: 'release', source, releaseTag });
    for (const c of contents.components) add({ kind: 'release-component', source: parseSourceRef(c.image, `${source.text} image-references ${c.name}`), releaseTag, component: c.name });
  };
  for (const r of releases) await release(parseSourceRef(r.image, `release ${r.version}`), r.architecture, r.tag);
  if (isc.release) await release(isc.release, isc.architectures[0] ?? 'amd64', undefined);
  for (const a of isc.additionalImages) add({ kind: 'generic', source: a });
  return { images: [...images.values()], releases, blocked };
};
