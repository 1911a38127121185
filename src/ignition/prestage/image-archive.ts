import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { createStoredGzip } from '../../formats/gzip/stored-gzip.js';

/** The `version` file of the containers-image `dir:` transport, as skopeo writes it. */
export const DIR_TRANSPORT_VERSION = 'Directory Transport Version: 1.1\n';

export interface ArchiveBlob {
  digest: string;
  size: number;
  mediaType: string;
}

/**
 * One image to archive: its dir name, the top-level manifest (stored as fetched: the image
 * manifest, or the manifest list / index the reference named), the platform's image manifest
 * when the top level is a list (`instance`), and the image's blobs (config first).
 */
export interface ArchivePlan {
  name: string;
  manifest: Buffer;
  instance?: { digest: string; bytes: Buffer };
  blobs: ArchiveBlob[];
}

/**
 * How hard to gzip: a level 0–9, or `auto`: an image whose layers are all already compressed
 * (gzip/zstd media types: nearly every image) is stored (level 0: deflate cannot shrink those
 * bytes, and level 6 burns ~45 MB/s of CPU for under 1%); an image with an uncompressed layer
 * gets level 6, what `tar czf` uses. One level per archive: Node's gzip streams ignore params().
 */
export type GzipLevel = number | 'auto';

/** File name of a blob in a `dir:` directory: the hex digest for sha256, `<alg>-<hex>` otherwise. */
export const blobFileName = (digest: string): string => {
  const [alg, hex] = digest.split(':') as [string, string];
  return alg === 'sha256' ? hex : `${alg}-${hex}`;
};

/**
 * File name of an instance manifest in a `dir:` directory whose manifest.json is a list: what
 * `skopeo copy --multi-arch all … dir:…` writes (`<hex>.manifest.json`), and where skopeo,
 * copying out of the directory, reads the platform's manifest from.
 */
export const instanceManifestFileName = (digest: string): string => `${blobFileName(digest)}.manifest.json`;

const COMPRESSED = /(\+|\.)(gzip|zstd)$|tar\.gzip$/;
export const isCompressedMediaType = (mediaType: string): boolean => COMPRESSED.test(mediaType);

/** The gzip level for an archive of `blobs` (config first, then layers). */
export const archiveLevel = (level: GzipLevel, blobs: ArchiveBlob[]): number => (level !== 'auto' ? level : blobs.slice(1).every((b) => isCompressedMediaType(b.mediaType)) ? 0 : 6);

/** The writable tar-stream hands out for an entry (a streamx Writable). */
interface Entry {
  write(chunk: Buffer): boolean;
  end(): void;
  on(event: 'error', fn: (err: Error) => void): unknown;
}

/**
 * Writes one image as a gzipped tar of a `dir:` directory, streaming: entries `<name>/`,
 * `<name>/version`, `<name>/manifest.json` (first, so a resume check reads only the archive's
 * head), for a list the platform's `<name>/<hex>.manifest.json` (so that skopeo can copy the
 * image into containers-storage under the list's digest, the name a release's image-references
 * give it), then each blob (config, layers; duplicates once) named by hex digest, its bytes
 * streamed from `fetch` straight into the tar entry (the manifest gives every size up front). If `fetch`
 * throws (a digest mismatch, a drop past the retries), the archive is abandoned and the error
 * rethrown: callers write to a temp file and delete it.
 */
export const writeImageArchive = async (opts: {
  plan: ArchivePlan;
  fetch: (blob: ArchiveBlob) => AsyncIterable<Buffer>;
  out: Writable;
  gzipLevel?: GzipLevel;
  onBytes?: (n: number) => void;
  mtime?: Date;
}): Promise<void> => {
  const { plan } = opts;
  const mtime = opts.mtime ?? new Date();
  const tar = pack();
  const level = archiveLevel(opts.gzipLevel ?? 'auto', plan.blobs);
  const gz = level === 0 ? createStoredGzip() : createGzip({ level, chunkSize: 256 * 1024 });
  const done = pipeline(tar as unknown as Readable, gz, opts.out);
  done.catch(() => {}); // observed below; avoids an unhandled rejection while entries are written
  const file = (name: string, body: Buffer) =>
    new Promise<void>((resolve, reject) => tar.entry({ name, mode: 0o644, mtime, size: body.length }, body, (err) => (err ? reject(err) : resolve())));
  try {
    tar.entry({ name: `${plan.name}/`, type: 'directory', mode: 0o755, mtime });
    await file(`${plan.name}/version`, Buffer.from(DIR_TRANSPORT_VERSION));
    await file(`${plan.name}/manifest.json`, plan.manifest);
    if (plan.instance) await file(`${plan.name}/${instanceManifestFileName(plan.instance.digest)}`, plan.instance.bytes);
    const written = new Set<string>();
    for (const blob of plan.blobs) {
      if (written.has(blob.digest)) continue;
      written.add(blob.digest);
      let settle!: (err?: Error | null) => void;
      const entryDone = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
      entryDone.catch(() => {}); // awaited below; a failed fetch abandons it
      const sink = tar.entry({ name: `${plan.name}/${blobFileName(blob.digest)}`, mode: 0o644, mtime, size: blob.size }, settle) as unknown as Entry;
      sink.on('error', () => {}); // a destroyed archive errors its open entry too; the cause is rethrown below
      for await (const chunk of opts.fetch(blob)) {
        opts.onBytes?.(chunk.length);
        if (!sink.write(chunk)) await once(sink as unknown as NodeJS.EventEmitter, 'drain');
      }
      sink.end();
      await entryDone;
    }
    tar.finalize();
  } catch (err) {
    tar.destroy(err as Error);
    await done.catch(() => {});
    throw err;
  }
  await done;
};

/**
 * Reads `<name>/manifest.json` from the head of an archive written by writeImageArchive (or any
 * gzipped tar holding that directory), decompressing no further than that entry. Undefined when
 * the archive does not hold it or is not a gzipped tar.
 */
export const readArchiveManifest = async (archive: Readable, name: string, maxEntries = 64): Promise<Buffer | undefined> => {
  const gunzip = createGunzip();
  const ex = extract();
  archive.on('error', (err) => gunzip.destroy(err));
  archive.pipe(gunzip).on('error', (err) => ex.destroy(err));
  gunzip.pipe(ex as unknown as Writable);
  let seen = 0;
  try {
    for await (const entry of ex) {
      if (entry.header.name === `${name}/manifest.json` || entry.header.name === `./${name}/manifest.json`) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      }
      entry.resume();
      if (++seen >= maxEntries) return undefined;
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    archive.destroy();
    gunzip.destroy();
    ex.destroy();
  }
};
