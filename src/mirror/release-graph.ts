import { z } from 'zod';
import { fromZod, MirrorInputError } from './errors.js';
import type { Architecture, ReleaseChannel } from './imageset.js';
import { compareVersions, isVersion } from './versions.js';

/**
 * Release resolution: ImageSetConfiguration channels → release images, per architecture, through
 * a Cincinnati update graph (`GET <url>?channel=<name>&arch=<arch>`, `Accept: application/json`,
 * answering `{nodes: [{version, payload, metadata}], edges: [[from, to]]}`), the way oc-mirror v2
 * picks versions; or, with no graph configured or reachable, from the upstream's tags
 * `<x.y.z>-<arch>`. The HTTP client is injected: no global fetch here.
 */

/** oc-mirror's default OCP update graph; `UPDATE_URL_OVERRIDE` replaces it. */
export const DEFAULT_UPDATE_URL = 'https://api.openshift.com/api/upgrades_info/v1/graph';
/** Where OCP release images live upstream. */
export const UPSTREAM_RELEASE_REPO = 'quay.io/openshift-release-dev/ocp-release';
/** Architecture → the suffix of release tags (`4.19.3-x86_64`). */
export const ARCH_TAG_SUFFIX: Record<Architecture, string> = { amd64: 'x86_64', arm64: 'aarch64', ppc64le: 'ppc64le', s390x: 's390x', multi: 'multi' };

/** The graph URL as oc-mirror chooses it: `UPDATE_URL_OVERRIDE` when set and not empty, else the default. */
export const updateGraphUrl = (env: Record<string, string | undefined>): string => env.UPDATE_URL_OVERRIDE || DEFAULT_UPDATE_URL;

export interface GraphNode {
  version: string;
  /** The release image pull spec, by digest on api.openshift.com. */
  payload: string;
  metadata?: Record<string, string>;
}

export interface UpdateGraph {
  nodes: GraphNode[];
  /** Index pairs into `nodes`: an update from the first to the second. */
  edges: [number, number][];
}

/** The part of `fetch` this needs (the CLI passes the global one). */
export type FetchLike = (url: string, init: { headers: Record<string, string>; signal?: AbortSignal }) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

const graphSchema = z.object({
  nodes: z.array(z.object({ version: z.string().refine(isVersion, 'not a version'), payload: z.string().min(1), metadata: z.record(z.string(), z.string()).optional() })),
  edges: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
});

/** Parses a Cincinnati graph document; `where` (the URL) prefixes the errors. */
export const parseUpdateGraph = (text: string, where: string): UpdateGraph => {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new MirrorInputError(where, `is not JSON (${(err as Error).message})`);
  }
  const r = graphSchema.safeParse(doc);
  if (!r.success) throw fromZod(r.error, `${where} `);
  const n = r.data.nodes.length;
  const bad = r.data.edges.findIndex(([a, b]) => a >= n || b >= n);
  if (bad >= 0) throw new MirrorInputError(`${where} edges[${bad}]`, `names a node beyond the ${n} nodes`);
  return r.data;
};

/** Thrown when the graph cannot be fetched (network, HTTP status): the caller may fall back to tags. */
export class GraphUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphUnreachableError';
  }
}

/** The graph URL for one channel and architecture (query parameters added to any the URL has). */
export const graphQueryUrl = (url: string, channel: string, arch: string): string => {
  const u = new URL(url);
  u.searchParams.set('channel', channel);
  u.searchParams.set('arch', arch);
  return u.toString();
};

export const fetchUpdateGraph = async (fetchFn: FetchLike, url: string, channel: string, arch: string, signal?: AbortSignal): Promise<UpdateGraph> => {
  const where = graphQueryUrl(url, channel, arch);
  let res: Awaited<ReturnType<FetchLike>>;
  try {
    res = await fetchFn(where, { headers: { Accept: 'application/json' }, signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new GraphUnreachableError(`update graph ${where}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new GraphUnreachableError(`update graph ${where}: HTTP ${res.status}`);
  return parseUpdateGraph(await res.text(), `update graph ${where}`);
};

/**
 * The versions a channel asks for out of `versions` (ascending), as oc-mirror v2 decides: with
 * neither bound, the newest only (all of them with `full`); otherwise from minVersion (default
 * the oldest) to maxVersion (default the newest), inclusive.
 */
export const selectVersions = (c: Pick<ReleaseChannel, 'minVersion' | 'maxVersion' | 'full'>, versions: string[]): string[] => {
  if (!c.minVersion && !c.maxVersion && !c.full) return versions.slice(-1);
  return versions.filter((v) => (!c.minVersion || compareVersions(v, c.minVersion) >= 0) && (!c.maxVersion || compareVersions(v, c.maxVersion) <= 0));
};

/**
 * oc-mirror's `shortestPath`: the nodes on the shortest update path from `from` to `to`
 * (breadth-first, trying newer targets first), plus both ends. Empty path when none exists: the
 * two ends only.
 */
export const shortestUpdatePath = (graph: UpdateGraph, from: string, to: string): GraphNode[] => {
  const index = (v: string) => {
    const i = graph.nodes.findIndex((n) => compareVersions(n.version, v) === 0);
    if (i < 0) throw new Error(`version ${v} is not in the update graph`);
    return i;
  };
  const [start, end] = [index(from), index(to)];
  const next = new Map<number, number[]>();
  for (const [a, b] of graph.edges) next.set(a, [...(next.get(a) ?? []), b]);
  for (const list of next.values()) list.sort((x, y) => compareVersions(graph.nodes[y]!.version, graph.nodes[x]!.version));
  const prev = new Map<number, number>([[start, -1]]);
  const queue = [start];
  while (queue.length > 0 && !prev.has(end)) {
    const node = queue.shift()!;
    for (const n of next.get(node) ?? []) {
      if (prev.has(n)) continue;
      prev.set(n, node);
      queue.push(n);
    }
  }
  const path: number[] = [];
  if (prev.has(end)) for (let i = end; i !== -1; i = prev.get(i)!) path.unshift(i);
  return [...new Set([start, ...path, end])].map((i) => graph.nodes[i]!);
};
