/**
 * Files of an image as its layers stack them (OCI image-spec layer.md): a later layer's file
 * replaces an earlier one; a whiteout `.wh.<name>` in a later layer removes `<name>` (and what is
 * under it) from the earlier ones; an opaque whiteout `<dir>/.wh..wh..opq` hides everything the
 * earlier layers have under `<dir>`. Read from the last layer down, so the first decision about a
 * path is the final one and earlier layers are read only for paths still open. A wanted path that
 * is a symlink or hard link is followed (a few hops) to the file it names.
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { LayerError, openLayerTar } from './layer-stream.js';

export interface LayerRef {
  digest: string;
  size: number;
}

/** What a caller made of one file's bytes (a temp file); discarded when a later entry replaces it or the layer fails. */
export interface Captured {
  discard(): Promise<void>;
}

export interface FindFilesOptions<T extends Captured> {
  layers: LayerRef[];
  open(digest: string): Promise<Readable>;
  /** Paths inside the image (`usr/bin/oc`). */
  wanted: string[];
  /** Takes the bytes of the file a wanted path (as asked, before links) names; read them to the end. */
  capture(wanted: string, bytes: Readable): Promise<T>;
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
}

const MAX_LINK_HOPS = 8;

/** `./usr//bin/oc` → `usr/bin/oc`. */
export const normalMember = (name: string): string => posix.normalize(`/${name}`).slice(1).replace(/\/$/, '');

const under = (path: string, dir: string) => dir === '' || path === dir || path.startsWith(`${dir}/`);

type Found<T> = { kind: 'file'; value: T } | { kind: 'link'; target: string } | { kind: 'gone' };

/**
 * One pass over the layers, top down: for each asked path, what its current lookup path is in
 * the image. An entry two asked paths lead to is captured for the first; the other looks again
 * on the next pass (as if it were a link to it).
 */
const scan = async <T extends Captured>(o: FindFilesOptions<T>, lookups: Map<string, string>): Promise<Map<string, Found<T>>> => {
  const decided = new Map<string, Found<T>>();
  for (const layer of [...o.layers].reverse()) {
    const open = [...lookups].filter(([asked]) => !decided.has(asked));
    if (open.length === 0) break;
    const openPaths = new Set(open.map(([, path]) => path));
    o.signal?.throwIfAborted();
    const source = await o.open(layer.digest);
    const { entries, done } = openLayerTar(source, layer.digest, o.onBytes);
    const onAbort = () => source.destroy(o.signal!.reason as Error);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const here = new Map<string, Found<T>>();
    const hidden: string[] = [];
    const opaque: string[] = [];
    try {
      for await (const entry of entries) {
        const name = normalMember(entry.header.name);
        const base = posix.basename(name);
        const dir = posix.dirname(name) === '.' ? '' : posix.dirname(name);
        if (base === '.wh..wh..opq') opaque.push(dir);
        else if (base.startsWith('.wh.')) hidden.push(posix.join(dir, base.slice(4)));
        if (!openPaths.has(name)) {
          entry.resume();
          continue;
        }
        const askers = open.filter(([, path]) => path === name).map(([asked]) => asked);
        for (const a of askers) {
          const before = here.get(a);
          if (before?.kind === 'file') await before.value.discard();
          here.delete(a);
        }
        const type = entry.header.type;
        if (type === 'file' || type === 'contiguous-file') {
          here.set(askers[0]!, { kind: 'file', value: await o.capture(askers[0]!, entry as unknown as Readable) });
          for (const a of askers.slice(1)) here.set(a, { kind: 'link', target: name });
        } else if ((type === 'symlink' || type === 'link') && entry.header.linkname) {
          const ln = entry.header.linkname;
          // A symlink's relative target is from its directory, an absolute one from the image's root; a hard link names an archive path.
          const target = type === 'symlink' && !ln.startsWith('/') ? normalMember(posix.join(dir, ln)) : normalMember(ln);
          for (const a of askers) here.set(a, { kind: 'link', target });
          entry.resume();
        } else entry.resume();
      }
      await done;
    } catch (err) {
      for (const f of [...here.values(), ...decided.values()]) if (f.kind === 'file') await f.value.discard();
      throw o.signal?.aborted ? o.signal.reason : err;
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
    }
    for (const [asked, path] of open) {
      const f = here.get(asked);
      if (f) decided.set(asked, f);
      else if (hidden.some((h) => under(path, h)) || opaque.some((d) => d !== path && under(path, d))) decided.set(asked, { kind: 'gone' });
    }
  }
  return decided;
};

/**
 * The wanted files of an image: path → what `capture` made of its final bytes. A path the image
 * does not have (or removes) is absent from the result.
 */
export const findFilesInLayers = async <T extends Captured>(o: FindFilesOptions<T>): Promise<Map<string, T>> => {
  const result = new Map<string, T>();
  // path asked for → the path now looked up (after following links)
  const lookups = new Map(o.wanted.map((w) => [w, w]));
  try {
    await follow(o, lookups, result);
  } catch (err) {
    for (const f of result.values()) await f.discard();
    throw err;
  }
  return result;
};

const follow = async <T extends Captured>(o: FindFilesOptions<T>, first: Map<string, string>, result: Map<string, T>) => {
  let lookups = first;
  for (let hop = 0; lookups.size > 0; hop++) {
    if (hop > MAX_LINK_HOPS) throw new LayerError(`${[...lookups.keys()].join(', ')}: more than ${MAX_LINK_HOPS} links to follow`);
    const found = await scan(o, lookups);
    const next = new Map<string, string>();
    for (const [asked, f] of found) {
      if (f.kind === 'file') result.set(asked, f.value);
      else if (f.kind === 'link') next.set(asked, f.target);
    }
    lookups = next;
  }
};
