import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OciClient } from '../registry/client/oci-client.js';
import { pushedChunks } from '../registry/client/pushed-chunks.js';
import { digestCheckedBySource } from './archive/image-input.js';
import type { ImageInput } from './archive/image-input.js';
import { createArchiveWriter } from './archive/writer.js';
import { collectImages, type Collected } from './collect.js';
import { CLUSTER_RESOURCES_DIR, IDMS_FILE, ITMS_FILE, type MirroredImage, renderIdms, renderItms } from './idms.js';
import { registryReference, type SourceRef } from './image-ref.js';
import { archiveSizeBytes, type ImageSetConfiguration } from './imageset.js';
import { fetchTree } from './manifest-tree.js';
import { DRY_RUN_DIR, MAPPING_FILE, MISSING_FILE, renderMapping, renderMissing } from './mapping.js';
import { type MirrorImage, mirrorName } from './naming.js';
import { mapPool } from './pool.js';
import { type BlobLocations, pushTree } from './push-tree.js';
import type { ReleaseLayer } from './release-contents.js';
import type { FetchLike } from './release-graph.js';
import type { ClientPool } from './sources.js';

/** What a run reports as it goes (the CLI draws a bar or writes JSON lines). */
export interface MirrorEvents {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  /** An image done (or failed), with the totals so far. */
  image(done: { ref: string; ok: boolean; error?: string; index: number; total: number }): void;
  bytes(n: number): void;
}

export interface FlowOptions {
  isc: ImageSetConfiguration;
  iscText: string;
  clients: ClientPool;
  parallelImages: number;
  parallelLayers: number;
  imageTimeoutMs: number;
  dryRun: boolean;
  continueOnError: boolean;
  since: Date | undefined;
  graph: { url: string; fetch: FetchLike } | undefined;
  events: MirrorEvents;
  now: () => Date;
}

export interface FlowResult {
  images: number;
  failed: { ref: string; error: string }[];
  /** Files written for the operator: IDMS/ITMS, archives, dry-run lists. */
  outputs: string[];
}

/** `host/path` of a source reference, for the client pool. */
const clientOf = (clients: ClientPool, ref: SourceRef): OciClient => clients(ref.host);

/** The layers of a release image for `architecture`, as the release reader streams them. */
const releaseLayers = (clients: ClientPool) => async (ref: SourceRef, architecture: string): Promise<ReleaseLayer[]> => {
  const src = clientOf(clients, ref);
  const { tree } = await fetchTree(src, ref.repository, registryReference(ref), [architecture]);
  const image = tree.children?.[0] ?? tree;
  const doc = JSON.parse(Buffer.from(image.manifest.bytes).toString('utf8')) as { layers?: { digest: string; mediaType: string; size: number }[] };
  return (doc.layers ?? []).map((l) => ({ digest: l.digest, mediaType: l.mediaType, chunks: () => src.blobChunks(ref.repository, l.digest, l.size) }));
};

/** Resolves the ISC into images (releases through the graph or tags, their components, the additional images). */
export const collect = (o: FlowOptions): Promise<Collected> =>
  collectImages(o.isc, {
    listTags: async (full) => {
      const slash = full.indexOf('/');
      return o.clients(full.slice(0, slash)).listTags(full.slice(slash + 1));
    },
    releaseLayers: releaseLayers(o.clients),
    ...(o.graph ? { graph: o.graph } : {}),
    warn: (m) => o.events.warn(m),
  });

const withTimeout = async <T>(ms: number, what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
  const signal = AbortSignal.timeout(ms);
  try {
    return await work(signal);
  } catch (err) {
    if (signal.aborted) throw new Error(`${what}: not done within --image-timeout (${Math.round(ms / 1000)} s)`, { cause: err });
    throw err;
  }
};

const joinRepo = (ns: string, repo: string) => (ns ? `${ns.replace(/\/+$/, '')}/${repo}` : repo);

/** Runs `copy` for each image, parallelImages at once; failures are collected, not thrown. */
const eachImage = async (o: FlowOptions, images: MirrorImage[], copy: (img: MirrorImage, signal: AbortSignal) => Promise<void>) => {
  const failed: { ref: string; error: string }[] = [];
  let done = 0;
  await mapPool(images, o.parallelImages, async (img) => {
    try {
      await withTimeout(o.imageTimeoutMs, img.source.text, (signal) => copy(img, signal));
      o.events.image({ ref: img.source.text, ok: true, index: ++done, total: images.length });
    } catch (err) {
      const error = (err as Error).message;
      failed.push({ ref: img.source.text, error });
      o.events.image({ ref: img.source.text, ok: false, error, index: ++done, total: images.length });
    }
  });
  return failed.sort((a, b) => (a.ref < b.ref ? -1 : 1));
};

const writeClusterResources = async (workingDir: string, mirrored: MirroredImage[], now: Date): Promise<string[]> => {
  const dir = join(workingDir, CLUSTER_RESOURCES_DIR);
  await mkdir(dir, { recursive: true });
  const out: string[] = [];
  for (const [file, text] of [[IDMS_FILE, renderIdms(mirrored, { createdAt: now })], [ITMS_FILE, renderItms(mirrored, { createdAt: now })]] as const) {
    if (!text) continue;
    await writeFile(join(dir, file), text);
    out.push(join(dir, file));
  }
  return out;
};

/** mirror-to-registry: every image of the ISC copied straight into `<registry>/<namespace>`; IDMS/ITMS in the working dir. */
export const mirrorToRegistry = async (o: FlowOptions, dest: { registry: string; namespace: string }, workingDir: string): Promise<FlowResult> => {
  const { images } = await collect(o);
  const destination = (img: MirrorImage) => {
    const n = mirrorName(img);
    return { repo: joinRepo(dest.namespace, n.repository), tag: n.tag, text: `${dest.registry}/${joinRepo(dest.namespace, n.repository)}:${n.tag}` };
  };
  if (o.dryRun) return dryRun(o, images, workingDir, (img) => destination(img).text);
  const dst = o.clients(dest.registry);
  const locations: BlobLocations = new Map();
  const mirrored: MirroredImage[] = [];
  const failed = await eachImage(o, images, async (img, signal) => {
    const d = destination(img);
    const src = clientOf(o.clients, img.source);
    const { tree, rewritten } = await fetchTree(src, img.source.repository, registryReference(img.source), o.isc.architectures);
    if (rewritten) o.events.warn(`${img.source.text}: the index was cut to ${o.isc.architectures.join(', ')}; its digest at the destination differs from the source's`);
    await pushTree(tree, { src, srcRepo: img.source.repository, dst, dstRepo: d.repo, tag: d.tag, parallelLayers: o.parallelLayers, locations, onBytes: (n) => o.events.bytes(n), signal });
    mirrored.push({ kind: img.kind, source: img.source, destination: d.text });
  });
  const outputs = await writeClusterResources(workingDir, mirrored, o.now());
  return { images: images.length, failed, outputs };
};

/** --dry-run: mapping.txt (every source → destination) and missing.txt (sources the upstream lacks), nothing copied. */
const dryRun = async (o: FlowOptions, images: MirrorImage[], workingDir: string, destination: (img: MirrorImage) => string): Promise<FlowResult> => {
  const entries = images.map((img) => ({ source: img.source.text, destination: destination(img) }));
  const missing: typeof entries = [];
  await mapPool(images, o.parallelImages, async (img, i) => {
    const found = await clientOf(o.clients, img.source).headManifest(img.source.repository, registryReference(img.source)).catch(() => undefined);
    if (!found) missing.push(entries[i]!);
  });
  const dir = join(workingDir, DRY_RUN_DIR);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MAPPING_FILE), renderMapping(entries));
  const outputs = [join(dir, MAPPING_FILE)];
  if (missing.length) {
    await writeFile(join(dir, MISSING_FILE), renderMissing(missing));
    outputs.push(join(dir, MISSING_FILE));
  }
  return { images: images.length, failed: missing.map((m) => ({ ref: m.source, error: 'not found upstream (dry run)' })), outputs };
};

/** The sources and archive names of a mirror-to-disk run, kept in the working dir so disk-to-registry can write IDMS/ITMS offline. */
export const MAPPING_JSON = 'reef-mirror-mapping.json';

/** mirror-to-disk: archives in `dir` (mirror_000001.tar, …), working-dir beside them. */
export const mirrorToDisk = async (o: FlowOptions, dir: string): Promise<FlowResult> => {
  const workingDir = join(dir, 'working-dir');
  const { images } = await collect(o);
  if (o.dryRun) return dryRun(o, images, workingDir, (img) => `file://${dir}/${mirrorName(img).repository}:${mirrorName(img).tag}`);
  await mkdir(workingDir, { recursive: true });
  const writer = await createArchiveWriter({
    workingDir,
    outDir: dir,
    archiveSizeBytes: archiveSizeBytes(o.isc.archiveSize),
    imageSetConfig: o.iscText,
    parallelBlobs: o.parallelLayers,
    now: o.now,
    ...(o.since ? { since: o.since } : {}),
  });
  // Every image's manifests first, so the whole archive is planned before the blobs move: its
  // chunks are then written while they arrive (writer.stream), in the order the images are listed.
  const inputs = new Map<MirrorImage, ImageInput>();
  const unplanned = new Map<MirrorImage, string>();
  await mapPool(images, o.parallelImages * 2, async (img) => {
    try {
      const n = mirrorName(img);
      const src = clientOf(o.clients, img.source);
      const { tree } = await withTimeout(o.imageTimeoutMs, img.source.text, (signal) => fetchTree(src, img.source.repository, registryReference(img.source), o.isc.architectures, signal));
      inputs.set(img, { repo: n.repository, tag: n.tag, ...tree });
    } catch (err) {
      unplanned.set(img, (err as Error).message);
    }
  });
  for (const img of images) {
    const input = inputs.get(img);
    try {
      if (input) writer.register(input);
    } catch (err) {
      inputs.delete(img);
      unplanned.set(img, (err as Error).message);
    }
  }
  writer.stream();
  const failed = await eachImage(o, images, async (img, signal) => {
    const src = clientOf(o.clients, img.source);
    const input = inputs.get(img);
    if (!input) throw new Error(unplanned.get(img) ?? 'not planned');
    await writer.fetch(input, async (digest) => {
      signal.throwIfAborted();
      const size = [input, ...(input.children ?? [])].flatMap((t) => t.blobs ?? []).find((b) => b.digest === digest)?.size ?? 0;
      // Read push-style into one reused buffer (lent chunks: the cache copies them into its writes);
      // blobPush throws at its end on a digest mismatch, so the cache need not hash again.
      const chunks = pushedChunks((onData, sig) => src.blobPush(img.source.repository, digest, size, onData, sig), signal);
      return digestCheckedBySource(
        (async function* () {
          for await (const c of chunks) {
            o.events.bytes(c.length);
            yield c;
          }
        })(),
      );
    });
  });
  const mapping = images.filter((img) => !failed.some((f) => f.ref === img.source.text)).map((img) => ({ kind: img.kind, source: img.source.text, repository: mirrorName(img).repository, tag: mirrorName(img).tag }));
  await writeFile(join(workingDir, MAPPING_JSON), `${JSON.stringify(mapping, null, 2)}\n`);
  if (failed.length) {
    await writeFile(join(workingDir, 'failed.txt'), failed.map((f) => `${f.ref}\t${f.error}\n`).join(''));
    if (!o.continueOnError) {
      o.events.warn(`${failed.length} image(s) failed: no archive is built while failures are pending (run again to resume, or pass --continue-on-error); see ${join(workingDir, 'failed.txt')}`);
      return { images: images.length, failed, outputs: [join(workingDir, 'failed.txt')] };
    }
  }
  const result = await writer.finish();
  for (const w of result.warnings) o.events.warn(w);
  return { images: images.length, failed, outputs: [...result.archives.map((a) => a.path), result.checksumsFile, result.historyFile] };
};

export const readMappingJson = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as { kind: MirrorImage['kind']; source: string; repository: string; tag: string }[];
