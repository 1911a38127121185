import { MirrorInputError } from './errors.js';
import type { Architecture, ReleaseChannel } from './imageset.js';
import { ARCH_TAG_SUFFIX, fetchUpdateGraph, type FetchLike, GraphUnreachableError, selectVersions, shortestUpdatePath, type UpdateGraph, UPSTREAM_RELEASE_REPO } from './release-graph.js';
import { compareVersions, minorOf } from './versions.js';

export interface ResolvedRelease {
  version: string;
  architecture: Architecture;
  /** `4.19.3-x86_64`: the upstream tag, and the tag at the destination (`openshift/release-images:<tag>`). */
  tag: string;
  /** The pull spec: the graph's payload (by digest), or `<upstream>:<tag>` when found by tag. */
  image: string;
  /** The channel that asked for it (the first, when several did). */
  channel: string;
  from: 'graph' | 'tags';
}

export interface ResolveReleasesOptions {
  channels: ReleaseChannel[];
  architectures: Architecture[];
  /** The update graph (URL and the fetch to reach it). Absent: tags only. */
  graph?: { url: string; fetch: FetchLike };
  /** Lists the tags of a repository named in full (`quay.io/openshift-release-dev/ocp-release`): the fallback. */
  listTags?: (repository: string) => Promise<string[]>;
  /** Default `quay.io/openshift-release-dev/ocp-release`. */
  upstream?: string;
  signal?: AbortSignal;
  /** Told once when the graph could not be reached and tags are used instead. */
  onFallback?: (reason: string) => void;
}

/** The versions `<x.y.z>-<suffix>` tags name, ascending; pre-releases (`4.20.0-rc.1`) only when asked for. */
export const versionsFromTags = (tags: string[], suffix: string, prereleases = false): string[] => {
  const pattern = new RegExp(`^(\\d+\\.\\d+\\.\\d+${prereleases ? '(?:-[0-9A-Za-z.]+)?' : ''})-${suffix}$`);
  const found = tags.map((t) => pattern.exec(t)?.[1]).filter((v): v is string => v !== undefined);
  return [...new Set(found)].sort(compareVersions);
};

const range = (c: ReleaseChannel) => (c.minVersion || c.maxVersion ? ` between ${c.minVersion ?? 'any'} and ${c.maxVersion ?? 'any'}` : '');

const fromGraph = (c: ReleaseChannel, arch: Architecture, graph: UpdateGraph, url: string) => {
  const nodes = [...graph.nodes].sort((a, b) => compareVersions(a.version, b.version));
  const versions = nodes.map((n) => n.version);
  const picked = selectVersions(c, versions);
  if (picked.length === 0) {
    throw new MirrorInputError(c.field, `no release in channel ${c.name} for ${arch}${range(c)} in the update graph ${url} (it has ${versions.join(', ') || 'none'})`);
  }
  if (!c.shortestPath) return nodes.filter((n) => picked.includes(n.version));
  for (const key of ['minVersion', 'maxVersion'] as const) {
    const v = c[key];
    if (v && !versions.some((x) => compareVersions(x, v) === 0)) throw new MirrorInputError(`${c.field}.${key}`, `${v} is not in channel ${c.name} for ${arch} (shortestPath needs both ends in the update graph ${url})`);
  }
  return shortestUpdatePath(graph, c.minVersion ?? picked[0]!, c.maxVersion ?? picked.at(-1)!);
};

/**
 * Resolves the channels into release images for each architecture. With `graph`, each channel's
 * versions come from the update graph, filtered as oc-mirror does (see selectVersions; with
 * `shortestPath`, the upgrade path between the bounds). Without it, or when it cannot be reached
 * and `listTags` is given, from the upstream's `<x.y.z>-<arch>` tags: those of the channel's
 * minor (any minor between both bounds when both are given), pre-releases only for candidate
 * channels; `shortestPath` means nothing there (no edges) and is ignored. A channel that matches
 * nothing is an error naming it. Sorted by architecture (as given), then version.
 */
export const resolveReleases = async (o: ResolveReleasesOptions): Promise<ResolvedRelease[]> => {
  const upstream = o.upstream ?? UPSTREAM_RELEASE_REPO;
  let graphDown: string | undefined = o.graph ? undefined : 'no update graph configured';
  let tags: Promise<string[]> | undefined;
  const out: ResolvedRelease[] = [];
  const seen = new Set<string>();
  const add = (arch: Architecture, version: string, image: string, channel: string, from: ResolvedRelease['from']) => {
    if (seen.has(`${arch} ${version}`)) return;
    seen.add(`${arch} ${version}`);
    out.push({ version, architecture: arch, tag: `${version}-${ARCH_TAG_SUFFIX[arch]}`, image, channel, from });
  };
  for (const arch of o.architectures) {
    for (const c of o.channels) {
      if (o.graph && graphDown === undefined) {
        try {
          const graph = await fetchUpdateGraph(o.graph.fetch, o.graph.url, c.name, arch, o.signal);
          for (const n of fromGraph(c, arch, graph, o.graph.url)) add(arch, n.version, n.payload, c.name, 'graph');
          continue;
        } catch (err) {
          if (!(err instanceof GraphUnreachableError) || !o.listTags) throw err;
          graphDown = err.message;
          o.onFallback?.(`${err.message}; using the tags of ${upstream}`);
        }
      }
      if (!o.listTags) throw new Error(`${c.field}: ${graphDown} and no way to list the tags of ${upstream}`);
      tags ??= o.listTags(upstream);
      const suffix = ARCH_TAG_SUFFIX[arch];
      const all = versionsFromTags(await tags, suffix, c.name.startsWith('candidate-'));
      const inChannel = all.filter((v) => minorOf(v) === c.minor || (c.minVersion && c.maxVersion));
      const picked = selectVersions(c, inChannel);
      if (picked.length === 0) {
        throw new MirrorInputError(c.field, `no ${c.minor} release${range(c)} for ${arch} in ${upstream} (looked for <x.y.z>-${suffix} tags; found: ${inChannel.join(', ') || 'none'})`);
      }
      for (const v of picked) add(arch, v, `${upstream}:${v}-${suffix}`, c.name, 'tags');
    }
  }
  const order = (a: Architecture) => o.architectures.indexOf(a);
  return out.sort((a, b) => order(a.architecture) - order(b.architecture) || compareVersions(a.version, b.version));
};
