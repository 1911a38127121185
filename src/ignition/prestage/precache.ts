import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import { createOciClient, type OciClient } from '../../registry/client/oci-client.js';
import { type ArchiveDir, createArchiveDir } from './archive-dir.fs.js';
import { type GzipLevel, readArchiveManifest, writeImageArchive } from './image-archive.js';
import { type ListName, mirrorText, type PlanSources, planImages, type WantedImage } from './image-plan.js';
import { imageBytes, LINUX_AMD64, type Platform, resolveImage, type ResolvedImage } from './manifests.js';

export type ImageState = 'skipped' | 'started' | 'progress' | 'done' | 'failed';

export type PrecacheEvent =
  | { type: 'plan'; images: number; bytes: number; toDownload: number; bytesToDownload: number; failed: number }
  | { type: 'image'; image: string; name: string; state: ImageState; done: number; total: number; error?: string };

export interface PrecacheOptions extends PlanSources {
  /** reef's registry, `host:port`. */
  registry: string;
  plainHttp?: boolean;
  /** PEM of the CA the registry's certificate must be signed by (the controller's site CA); default: the system's trust store. */
  ca?: string;
  auth?: { username: string; password: string };
  /** Directory to fill (the mounted data partition). */
  to: string;
  /** Images downloaded at the same time (default: available cores). */
  parallel?: number;
  /** Delete `.tgz` files that no list names any more. */
  rmStale?: boolean;
  gzipLevel?: GzipLevel;
  platform?: Platform;
  onProgress?: (e: PrecacheEvent) => void;
  signal?: AbortSignal;
  /** Injected for tests / the agent; default: an OCI client for `registry` and the directory `to`. */
  client?: OciClient;
  dir?: ArchiveDir;
}

export interface PrecacheSummary {
  images: number;
  downloaded: string[];
  skipped: string[];
  failed: { image: string; error: string }[];
  removed: string[];
  /** Blob bytes fetched from the registry in this run. */
  bytes: number;
  seconds: number;
}

const forEachLimit = async <T>(items: T[], limit: number, fn: (item: T) => Promise<void>, signal?: AbortSignal) => {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal?.aborted) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
};

/** A signal every request in flight may listen to (no max-listeners warning), aborted with `parent`. */
const followSignal = (parent?: AbortSignal) => {
  const inner = new AbortController();
  setMaxListeners(0, inner.signal);
  const forward = () => inner.abort(parent?.reason);
  if (parent?.aborted) forward();
  else parent?.addEventListener('abort', forward, { once: true });
  return { signal: inner.signal, dispose: () => parent?.removeEventListener('abort', forward) };
};

/** What an archive's manifest.json holds: the list / index a reference named, else the image manifest. */
const topManifest = (img: ResolvedImage): Buffer => img.index?.bytes ?? img.bytes;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

interface Resolved {
  img: ResolvedImage;
  repo: string;
}

/**
 * Fills `to` with the pre-cache layout of DESIGN §6 from reef's registry: one `<name>.tgz` per
 * image (a `dir:` directory, streamed from the registry into tar+gzip, every blob verified), then
 * `ai-images.txt`, `ocp-images.txt` and `mapping.txt`. A reference naming a manifest list keeps
 * the list as manifest.json with the platform's manifest beside it (`<hex>.manifest.json`) and
 * only that platform's blobs: the node loads it under the list's digest, the name the image
 * lists give it. Images run `parallel` at a time; each is written as `<name>.tgz.partial`,
 * fsynced and renamed, so a `.tgz` exists only complete.
 * Resumable: a `.tgz` already there whose manifest.json (read from the archive's head) is the
 * registry's current manifest for that image is skipped without fetching a blob. A failed image
 * leaves no file and is reported in `failed`; the others carry on. Bad input throws
 * PrestageInputError before anything is written.
 */
export const precacheDownload = async (opts: PrecacheOptions): Promise<PrecacheSummary> => {
  const started = Date.now();
  const emit = opts.onProgress ?? (() => {});
  const client =
    opts.client ??
    createOciClient({
      registry: opts.registry,
      plainHttp: opts.plainHttp,
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      ...(opts.auth ? { username: opts.auth.username, password: opts.auth.password } : {}),
    });
  const parallel = Math.max(1, opts.parallel ?? availableParallelism());
  const platform = opts.platform ?? LINUX_AMD64;
  const { signal, dispose } = followSignal(opts.signal);
  const failed: PrecacheSummary['failed'] = [];
  const fail = (w: WantedImage, err: unknown, total = 0) => {
    const error = signal.aborted ? 'aborted' : message(err);
    failed.push({ image: w.ref.text, error });
    emit({ type: 'image', image: w.ref.text, name: w.name, state: 'failed', done: 0, total, error });
  };

  /** The image's manifest for `platform`, from the first of its candidate repositories that has it. */
  const resolve = async (w: WantedImage): Promise<Resolved | { error: unknown }> => {
    if (w.resolved) return { img: w.resolved, repo: w.resolved.repo };
    let error: unknown;
    for (const repo of w.repos) {
      try {
        return { img: await resolveImage(client, repo, w.reference, platform, signal), repo };
      } catch (err) {
        error = err;
        if ((err as { status?: number }).status !== 404) break;
      }
    }
    return { error };
  };

  /** Writes one archive (temp, fsync, rename); on failure deletes the temp file and records it. */
  const download = async (dir: ArchiveDir, w: WantedImage, img: ResolvedImage, count: (n: number) => void) => {
    const total = imageBytes(img);
    let done = 0;
    let last = 0;
    emit({ type: 'image', image: w.ref.text, name: w.name, state: 'started', done, total });
    const pending = await dir.create(w.name);
    try {
      await writeImageArchive({
        plan: { name: w.name, manifest: topManifest(img), ...(img.index ? { instance: { digest: img.digest, bytes: img.bytes } } : {}), blobs: img.blobs },
        fetch: (b) => client.blobChunks(img.repo, b.digest, b.size, signal),
        out: pending.stream,
        gzipLevel: opts.gzipLevel,
        onBytes: (n) => {
          done += n;
          count(n);
          const now = Date.now();
          if (now - last >= 250) {
            last = now;
            emit({ type: 'image', image: w.ref.text, name: w.name, state: 'progress', done, total });
          }
        },
      });
      await pending.commit();
      emit({ type: 'image', image: w.ref.text, name: w.name, state: 'done', done, total });
      return true;
    } catch (err) {
      await pending.abort();
      fail(w, err, total);
      return false;
    }
  };

  try {
    const wanted = await planImages(client, { ...opts, signal });
    const dir = opts.dir ?? (await createArchiveDir(opts.to));
    await dir.removePartials();

    // Every manifest first (small GETs, in parallel): totals for the progress, and the resume check.
    const resolved = new Map<WantedImage, Resolved>();
    const unresolved = new Map<WantedImage, unknown>();
    await forEachLimit(wanted, parallel * 4, async (w) => {
      const r = await resolve(w);
      if ('error' in r) unresolved.set(w, r.error);
      else resolved.set(w, r);
    });
    const present = new Set(await dir.archives());
    const todo: WantedImage[] = [];
    const complete: WantedImage[] = [];
    await forEachLimit([...resolved.keys()], parallel * 2, async (w) => {
      const have = present.has(w.name) ? await readArchiveManifest(dir.read(w.name), w.name) : undefined;
      (have?.equals(topManifest(resolved.get(w)!.img)) ? complete : todo).push(w);
    });
    const sizeOf = (ws: WantedImage[]) => ws.reduce((n, w) => n + imageBytes(resolved.get(w)!.img), 0);
    todo.sort((a, b) => sizeOf([b]) - sizeOf([a])); // largest first: the shortest tail
    emit({ type: 'plan', images: wanted.length, bytes: sizeOf([...resolved.keys()]), toDownload: todo.length, bytesToDownload: sizeOf(todo), failed: unresolved.size });
    for (const [w, err] of unresolved) fail(w, err);
    const skipped = complete.map((w) => w.name);
    for (const w of complete) emit({ type: 'image', image: w.ref.text, name: w.name, state: 'skipped', done: sizeOf([w]), total: sizeOf([w]) });

    let bytes = 0;
    const downloaded: string[] = [];
    const attempted = new Set<WantedImage>();
    await forEachLimit(
      todo,
      parallel,
      async (w) => {
        attempted.add(w);
        if (await download(dir, w, resolved.get(w)!.img, (n) => (bytes += n))) downloaded.push(w.name);
      },
      signal,
    );
    for (const w of todo) if (!attempted.has(w)) fail(w, signal.reason);

    const lists: Record<ListName, string[]> = { 'ai-images': [], 'ocp-images': [] };
    const mapping: string[] = [];
    for (const w of wanted) {
      for (const l of w.lists) lists[l].push(w.ref.text);
      mapping.push(`${w.ref.text}=${mirrorText(opts.registry, resolved.get(w)?.repo ?? w.repos[0]!, w.ref)}`);
    }
    for (const [l, refs] of Object.entries(lists)) await dir.writeText(`${l}.txt`, refs.map((r) => `${r}\n`).join(''));
    await dir.writeText('mapping.txt', mapping.map((m) => `${m}\n`).join(''));

    const removed: string[] = [];
    if (opts.rmStale && !signal.aborted) {
      const keep = new Set(wanted.map((w) => w.name));
      for (const name of await dir.archives()) {
        if (keep.has(name)) continue;
        await dir.remove(name);
        removed.push(name);
      }
    }
    return { images: wanted.length, downloaded, skipped, failed, removed, bytes, seconds: (Date.now() - started) / 1000 };
  } finally {
    dispose();
  }
};
