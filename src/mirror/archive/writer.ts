/**
 * Mirror-to-disk: writes an oc-mirror v2 compatible archive set. Images are added one by one
 * (their blobs fetched into the working dir's blob cache, unless already cached whole or already
 * shipped according to the history); `finish` writes the chunks (`.partial`, fsync, journal,
 * rename), `SHA256SUMS`, then the history file. Killed at any point, the same command run again
 * fetches only what is not cached, keeps the chunks it finished and writes the same bytes.
 * One run per working dir at a time.
 *
 * A caller that knows every image before the blobs move (mirror-to-disk: manifests first) may
 * `register` them all, call `stream`, then `fetch` each: the chunks are then written while the
 * blobs arrive, members in plan order (blobs in the order images were registered), each blob as
 * soon as it is cached. Streamed chunks stay `.partial` (journaled once whole) until `finish`,
 * which appends the working dir and the ISC to the chunk left open and renames them all; a stream
 * cut short by a failed fetch is dropped and `finish` writes what it lacks from the cache.
 */
import { mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { createBlobCache } from './blob-cache.js';
import { openChunk, type OpenChunk, writeChunk } from './chunk-writer.js';
import { formatChecksums } from './checksums.js';
import { renameDurable, syncPath, writeDurable } from './durable.js';
import { MirrorArchiveError } from './errors.js';
import { latestHistoryName, readHistory, writeHistory, HISTORY_DIR, historyFileName } from './history.js';
import { checkImage, type CheckedImage, type FetchBlob, type ImageInput } from './image-input.js';
import { readJournal, removeJournal, writeJournal, type Journal } from './journal.js';
import { blobDataPath, CHECKSUMS_FILE, isChunkLeftover, iscName, PARTIAL_SUFFIX, rfc3339, WORKING_DIR } from './layout.js';
import { planChunks, sourceId, type ArchiveEntry, type PlannedChunk } from './plan.js';
import { createRepositoryIndex } from './repositories.js';
import { mapPool } from '../pool.js';

export const GIB = 1024 ** 3;
/** oc-mirror's default archiveSize: 500 GiB. */
export const DEFAULT_ARCHIVE_SIZE = 500 * GIB;
/** reef's state in the working dir (blob cache, journal): never archived. */
export const STATE_DIR = '.reef';

export interface ArchiveWriterOptions {
  /** The run's working dir (archived as `working-dir/`, minus `.reef/`). */
  workingDir: string;
  /** Where the chunks go. A fresh run removes old `mirror_*.tar`, `.partial`s and SHA256SUMS there, as oc-mirror does. */
  outDir: string;
  /** Largest chunk in bytes (archiveSize GiB × 1024³); default 500 GiB. */
  archiveSizeBytes?: number;
  /** oc-mirror's --since: diff against the latest history file older than this, not the latest. */
  since?: Date;
  /** Digests shipped already, on top of the history. */
  alreadyShipped?: Iterable<string>;
  /** Blobs of one image fetched at once (oc-mirror's --parallel-layers); default 1. */
  parallelBlobs?: number;
  /** The ImageSetConfiguration used, archived last as `isc_<time>`. */
  imageSetConfig?: string | Uint8Array;
  now?: () => Date;
}

export interface WrittenArchive {
  name: string;
  path: string;
  size: number;
  sha256: string;
}

export interface ArchiveResult {
  archives: WrittenArchive[];
  checksumsFile: string;
  historyFile: string;
  /** Blobs archived by this run (every other one was in the history). */
  blobs: string[];
  warnings: string[];
}

export interface ArchiveWriter {
  /** The run's time (RFC3339), kept across resumes. */
  readonly startedAt: string;
  /** register + fetch. */
  addImage(image: ImageInput, fetchBlob: FetchBlob): Promise<void>;
  /** Takes the image into the set (checked; its repository entries and blobs planned), fetches nothing. */
  register(image: ImageInput): void;
  /** Fetches a registered image's blobs into the cache (those not cached or shipped already). */
  fetch(image: ImageInput, fetchBlob: FetchBlob): Promise<void>;
  /** Starts writing the chunks of what is registered while `fetch`es run (call once, after the last `register`). */
  stream(): void;
  finish(): Promise<ArchiveResult>;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Whether `head` is the start of `all` (the same members, in order). */
const isPrefixOf = (head: readonly ArchiveEntry[], all: readonly ArchiveEntry[]): boolean =>
  head.length <= all.length && head.every((e, i) => e.path === all[i]!.path && e.size === all[i]!.size && sourceId(e.source) === sourceId(all[i]!.source));

/** Regular files under `dir`, sorted, as paths relative to it with '/' separators. */
const walk = async (dir: string, skip: (rel: string) => boolean, rel = ''): Promise<{ rel: string; path: string; size: number }[]> => {
  const out: { rel: string; path: string; size: number }[] = [];
  const dirents = await readdir(join(dir, rel), { withFileTypes: true });
  for (const d of dirents.sort((a, b) => byName(a.name, b.name))) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (skip(r)) continue;
    if (d.isDirectory()) out.push(...(await walk(dir, skip, r)));
    else if (d.isFile()) out.push({ rel: r, path: join(dir, r), size: (await stat(join(dir, r))).size });
  }
  return out;
};

export const createArchiveWriter = async (opts: ArchiveWriterOptions): Promise<ArchiveWriter> => {
  const workingDir = resolve(opts.workingDir);
  const outDir = resolve(opts.outDir);
  const stateDir = join(workingDir, STATE_DIR);
  const maxBytes = opts.archiveSizeBytes ?? DEFAULT_ARCHIVE_SIZE;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new MirrorArchiveError('WRITER_STATE', `archiveSizeBytes must be a positive integer, not ${maxBytes}`);
  if (outDir === workingDir) throw new MirrorArchiveError('WRITER_STATE', `outDir and workingDir must differ (${outDir}): the working dir is archived`);
  await mkdir(stateDir, { recursive: true });
  await mkdir(outDir, { recursive: true });

  let journal = await readJournal(stateDir);
  if (!journal) {
    // A fresh run: what an earlier finished run left is not part of this one.
    for (const name of await readdir(outDir)) {
      if (isChunkLeftover(name) || name === CHECKSUMS_FILE) await unlink(join(outDir, name));
    }
    await rm(join(stateDir, 'blobs'), { recursive: true, force: true });
    const baseline = (await latestHistoryName(workingDir, opts.since)) ?? null;
    journal = { version: 1, startedAt: rfc3339((opts.now ?? (() => new Date()))()), baseline, alreadyShipped: [...new Set(opts.alreadyShipped ?? [])].sort(), chunks: {} };
    await writeJournal(stateDir, journal);
  }
  const j: Journal = journal;
  const shipped = new Set(j.alreadyShipped);
  if (j.baseline) {
    const names = await readHistory(workingDir, j.baseline).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new MirrorArchiveError('HISTORY_INVALID', `the history file this run started from (${HISTORY_DIR}/${j.baseline}) is gone; remove ${STATE_DIR}/archive-journal.json to start over`, { file: j.baseline! });
      throw err;
    });
    for (const d of names) shipped.add(d);
  }
  const cache = await createBlobCache(stateDir);
  const repos = createRepositoryIndex();
  const needed = new Map<string, number>();
  const inflight = new Map<string, Promise<void>>();
  /** Streaming waits for blobs whose fetch has not started: woken when it starts. */
  const starts = new Map<string, (() => void)[]>();
  /** Blobs whose last fetch failed (until a new fetch starts): a stream waiting for one gives up. */
  const failedFetches = new Set<string>();
  let state: 'adding' | 'finishing' | 'done' = 'adding';

  /** Wakes a stream waiting for `digest` to be asked for (see waitFor). */
  const wake = (digest: string) => {
    for (const w of starts.get(digest) ?? []) w();
    starts.delete(digest);
  };

  const ensure = (digest: string, size: number, open: () => Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>>): Promise<void> => {
    let p = inflight.get(digest);
    if (!p) {
      p = (async () => {
        if (!(await cache.has(digest, size))) await cache.put(digest, size, await open());
      })();
      inflight.set(digest, p);
      failedFetches.delete(digest);
      p.catch(() => {
        inflight.delete(digest);
        failedFetches.add(digest);
        wake(digest); // a stream waiting for it gives up
      });
      wake(digest);
    }
    return p;
  };

  /** Registered images, checked once: fetch takes them from here. */
  const registered = new WeakMap<ImageInput, CheckedImage>();

  const register = (image: ImageInput): void => {
    if (state !== 'adding') throw new MirrorArchiveError('WRITER_STATE', `addImage after finish (${image.repo})`);
    const img = checkImage(image);
    registered.set(image, img);
    repos.add(img.repo, img.tag, img.manifests.map((m) => m.digest), img.blobs.map((b) => b.digest));
    for (const m of img.manifests) if (!shipped.has(m.digest)) needed.set(m.digest, m.bytes.length);
    for (const b of img.blobs) if (!shipped.has(b.digest)) needed.set(b.digest, b.size);
  };

  const fetch = async (image: ImageInput, fetchBlob: FetchBlob): Promise<void> => {
    const img = registered.get(image);
    if (!img) throw new MirrorArchiveError('WRITER_STATE', `fetch of an image not registered (${image.repo})`);
    const work = img.manifests.filter((m) => !shipped.has(m.digest)).map((m) => ensure(m.digest, m.bytes.length, async () => [m.bytes]));
    const blobs = img.blobs.filter((b) => !shipped.has(b.digest));
    const fetched = await mapPool(blobs, opts.parallelBlobs ?? 1, (b) => ensure(b.digest, b.size, () => fetchBlob(b.digest)));
    await Promise.all(work);
    const failed = fetched.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  };

  const addImage = async (image: ImageInput, fetchBlob: FetchBlob): Promise<void> => {
    register(image);
    await fetch(image, fetchBlob);
  };

  /** The members known before the working dir is final: repositories, then blobs in the order they were registered. */
  const registryEntries = (): ArchiveEntry[] => {
    const out = repos.entries();
    for (const [digest, size] of needed) out.push({ path: blobDataPath(digest), size, source: { kind: 'blob', digest } });
    return out;
  };

  const mtime = Math.floor(Date.parse(j.startedAt) / 1000);
  const partialPath = (name: string) => join(outDir, `${name}${PARTIAL_SUFFIX}`);
  /** A chunk journaled whole whose file (renamed or still `.partial`) is there at its size. */
  const finishedFile = async (chunk: PlannedChunk): Promise<string | undefined> => {
    const done = j.chunks[chunk.name];
    if (!done || done.fingerprint !== chunk.fingerprint) return undefined;
    for (const path of [join(outDir, chunk.name), partialPath(chunk.name)]) {
      if ((await stat(path).catch(() => undefined))?.size === done.size) return path;
    }
    return undefined;
  };
  /** What `stream` wrote: the chunk it left open for the working dir and the ISC, if it got that far. */
  let streamed: { name: string; chunk: OpenChunk } | undefined;
  let streaming: Promise<void> | undefined;

  /** Resolves once blob `digest` is cached (rejects when its fetch failed, or when finish comes first). */
  const waitFor = async (digest: string, size: number): Promise<void> => {
    for (;;) {
      const p = inflight.get(digest);
      if (p) return p;
      if (await cache.has(digest, size)) return;
      if (failedFetches.has(digest)) throw new MirrorArchiveError('WRITER_STATE', `blob ${digest} could not be fetched`, { file: digest });
      if (state !== 'adding') throw new MirrorArchiveError('WRITER_STATE', `blob ${digest} was never fetched`, { file: digest });
      // Not asked for yet: its image's fetch starts it (or finish wakes this up).
      await new Promise<void>((wake) => starts.set(digest, [...(starts.get(digest) ?? []), wake]));
    }
  };
  const wakeAll = () => {
    for (const wakes of starts.values()) for (const wake of wakes) wake();
    starts.clear();
  };

  const streamChunks = async (): Promise<void> => {
    const chunks = planChunks(registryEntries(), maxBytes);
    // The chunk the working dir and the ISC will be appended to: the last one that is not a lone oversized member.
    const open = chunks.filter((c) => !c.oversized).at(-1);
    for (const chunk of chunks) {
      if (chunk !== open && (await finishedFile(chunk))) continue;
      // The chunk left open was finished by an earlier run (killed before its history was written):
      // finish keeps it if the plan still matches, or writes it again from the cache.
      if (chunk === open && j.chunks[chunk.name]) continue;
      // Written again: no earlier file of that name may stay beside the journal (finish would take
      // a whole-looking one of the same size for this chunk), and no entry for it either.
      if (j.chunks[chunk.name]) {
        delete j.chunks[chunk.name];
        await writeJournal(stateDir, j);
      }
      if (await unlink(join(outDir, chunk.name)).then(() => true, (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? false : Promise.reject(err)))) await syncPath(outDir);
      const c = await openChunk(partialPath(chunk.name), mtime, cache);
      try {
        for (const e of chunk.entries) {
          if (e.source.kind === 'blob') await waitFor(e.source.digest, e.size);
          await c.add(e);
        }
      } catch (err) {
        await c.abort();
        throw err;
      }
      if (chunk === open) {
        streamed = { name: chunk.name, chunk: c };
        continue;
      }
      j.chunks[chunk.name] = { fingerprint: chunk.fingerprint, ...(await c.end(chunk)) };
      await writeJournal(stateDir, j);
    }
  };

  const stream = (): void => {
    if (streaming) throw new MirrorArchiveError('WRITER_STATE', 'stream called twice');
    streaming = streamChunks().catch(async () => {
      // A fetch failed (or the cache did not hold up): finish writes what is missing from the cache.
      await streamed?.chunk.abort();
      streamed = undefined;
    });
  };

  const entries = async (): Promise<ArchiveEntry[]> => {
    const out = registryEntries();
    const ownHistory = `${HISTORY_DIR}/${historyFileName(j.startedAt)}`;
    const outRel = relative(workingDir, outDir).split(sep).join('/');
    const files = await walk(workingDir, (rel) => rel === STATE_DIR || rel === ownHistory || rel === outRel);
    for (const f of files) out.push({ path: `${WORKING_DIR}/${f.rel}`, size: f.size, source: { kind: 'file', path: f.path } });
    if (opts.imageSetConfig !== undefined) {
      const bytes = Buffer.from(opts.imageSetConfig);
      out.push({ path: iscName(j.startedAt), size: bytes.length, source: { kind: 'bytes', bytes } });
    }
    return out;
  };

  const finish = async (): Promise<ArchiveResult> => {
    if (state !== 'adding') throw new MirrorArchiveError('WRITER_STATE', 'finish called twice');
    state = 'finishing';
    try {
      return await writeAll();
    } catch (err) {
      state = 'adding'; // finish may be called again (or the images added again) after a failure
      throw err;
    }
  };

  const writeAll = async (): Promise<ArchiveResult> => {
    await Promise.allSettled(inflight.values());
    wakeAll(); // state is 'finishing': a stream still waiting for a blob nobody fetched gives up
    await streaming;
    for (const [digest, size] of needed) {
      if (!(await cache.has(digest, size))) throw new MirrorArchiveError('WRITER_STATE', `blob ${digest} of an added image was not fetched (its addImage failed): add the image again before finish`, { file: digest });
    }
    const chunks = planChunks(await entries(), maxBytes);
    const warnings: string[] = [];
    for (const c of chunks.filter((c) => c.oversized)) {
      const e = c.entries[0]!;
      warnings.push(`${e.path} (${e.size} bytes) is larger than archiveSize (${maxBytes} bytes): it has ${c.name} to itself; an archiveSize of at least ${Math.ceil(c.size / GIB)} GiB would avoid it`);
    }
    // Kept: chunks journaled whole for this plan (renamed or not yet), and the one the stream left open.
    const keep = new Set<string>();
    for (const chunk of chunks) {
      const file = await finishedFile(chunk);
      if (file) keep.add(file.slice(outDir.length + 1));
    }
    const open = streamed && chunks.find((c) => c.name === streamed!.name);
    if (open && streamed && !(await finishedFile(open)) && isPrefixOf(streamed.chunk.entries, open.entries)) keep.add(`${open.name}${PARTIAL_SUFFIX}`);
    else {
      await streamed?.chunk.abort();
      streamed = undefined;
    }
    await rm(join(outDir, CHECKSUMS_FILE), { force: true });
    for (const name of await readdir(outDir)) {
      if (isChunkLeftover(name) && !keep.has(name)) await unlink(join(outDir, name)); // never beside a journal entry it does not match
    }
    await syncPath(outDir);
    const archives: WrittenArchive[] = [];
    for (const chunk of chunks) {
      const path = join(outDir, chunk.name);
      const partial = partialPath(chunk.name);
      const file = await finishedFile(chunk);
      if (file) {
        if (file === partial) await renameDurable(partial, path);
        const done = j.chunks[chunk.name]!;
        archives.push({ name: chunk.name, path, size: done.size, sha256: done.sha256 });
        continue;
      }
      let written: { sha256: string; size: number };
      if (streamed?.name === chunk.name) {
        const c = streamed.chunk;
        streamed = undefined;
        try {
          for (const e of chunk.entries.slice(c.entries.length)) await c.add(e);
          written = await c.end(chunk);
        } catch (err) {
          await c.abort();
          throw err;
        }
      } else written = await writeChunk(partial, chunk, mtime, cache);
      j.chunks[chunk.name] = { fingerprint: chunk.fingerprint, ...written };
      await writeJournal(stateDir, j);
      await renameDurable(partial, path);
      archives.push({ name: chunk.name, path, ...written });
    }
    const checksumsFile = join(outDir, CHECKSUMS_FILE);
    await writeDurable(checksumsFile, formatChecksums(archives));
    const historyFile = await writeHistory(workingDir, j.startedAt, [...shipped, ...needed.keys()]);
    await removeJournal(stateDir);
    await cache.clear();
    state = 'done';
    return { archives, checksumsFile, historyFile, blobs: [...needed.keys()].sort(byName), warnings };
  };

  return { startedAt: j.startedAt, addImage, register, fetch, stream, finish };
};
