/**
 * Disk-to-registry: opens an archive set (oc-mirror v2's, or reef's), verifies every chunk
 * against SHA256SUMS before anything else (a damaged, missing or stray chunk is an error naming
 * it), indexes the members of all chunks by reading tar headers only, and hands out the images
 * (repository, tags, manifest, what it references) and each blob as a stream whose bytes are
 * checked against the digest as they are read. Chunks may be in any order; a member may be in any
 * chunk (oc-mirror extracts them all into one tree, later chunks winning).
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, Readable, Transform } from 'node:stream';
import { hasher, parseDigest } from '../../registry/core/digest.js';
import { parseManifest } from '../../registry/core/manifest.js';
import { parseChecksums, sha256File } from './checksums.js';
import { MirrorArchiveError } from './errors.js';
import { CHECKSUMS_FILE, CHUNK_NAME, ISC_PREFIX, parseRegistryPath, WORKING_DIR } from './layout.js';
import { indexTar } from './tar-index.js';

export interface ArchiveSetOptions {
  /** `required` (default): no SHA256SUMS is an error. `if-present`: a set without one (oc-mirror's own) is read unverified. */
  checksums?: 'required' | 'if-present';
}

export interface ArchiveChunk {
  name: string;
  path: string;
  size: number;
  /** From SHA256SUMS, checked; undefined when the set has no list. */
  sha256: string | undefined;
}

export interface ArchiveImage {
  repo: string;
  digest: string;
  tags: string[];
  /** The manifest bytes; undefined when an earlier archive of an incremental series shipped them. */
  manifest: Buffer | undefined;
  mediaType: string | undefined;
  kind: 'image' | 'index' | undefined;
  /** Config and layers of an image manifest; child manifests of an index. */
  references: string[];
}

export interface ArchiveSet {
  dir: string;
  chunks: ArchiveChunk[];
  /** Per repository, manifests before any index that lists them (the order to push them in). */
  images: ArchiveImage[];
  /** Member name of the ImageSetConfiguration (`isc_<time>`), if any. */
  imageSetConfig: string | undefined;
  /** Files under working-dir/, relative to it. */
  workingDirFiles: string[];
  hasBlob(digest: string): boolean;
  blobSize(digest: string): number | undefined;
  /** The blob's bytes; the stream errors with BLOB_MISMATCH at its end if they do not hash to the digest. */
  openBlob(digest: string): Readable;
  /** Any member (a working-dir file, the isc) by its path in the tar. */
  openMember(path: string): Readable;
}

interface Located {
  file: string;
  offset: number;
  size: number;
}

const MAX_MANIFEST = 16 * 1024 * 1024;
const MAX_LINK = 1024;

const readAt = async (loc: Located): Promise<Buffer> => {
  const fh = await open(loc.file, 'r');
  try {
    const buf = Buffer.alloc(loc.size);
    let done = 0;
    while (done < loc.size) {
      const { bytesRead } = await fh.read(buf, done, loc.size - done, loc.offset + done);
      if (bytesRead === 0) throw new MirrorArchiveError('TAR_INVALID', `${loc.file}: member ends early`, { file: loc.file });
      done += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
};

const memberStream = (loc: Located): ReadStream | Readable =>
  loc.size === 0 ? Readable.from([]) : createReadStream(loc.file, { start: loc.offset, end: loc.offset + loc.size - 1, highWaterMark: 1024 * 1024 });

const verifyChunks = async (dir: string, names: string[], mode: 'required' | 'if-present'): Promise<Map<string, string> | undefined> => {
  const text = await readFile(join(dir, CHECKSUMS_FILE), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (text === undefined) {
    if (mode === 'if-present') return undefined;
    throw new MirrorArchiveError('CHECKSUMS_MISSING', `${dir}: no ${CHECKSUMS_FILE}: the archive set is incomplete or was not copied whole`, { file: CHECKSUMS_FILE });
  }
  const listed = new Map(parseChecksums(text).map((s) => [s.name, s.sha256]));
  for (const name of listed.keys()) {
    if (!names.includes(name)) throw new MirrorArchiveError('CHUNK_MISSING', `${name} is listed in ${CHECKSUMS_FILE} but missing from ${dir}`, { file: name });
  }
  for (const name of names) {
    if (!listed.has(name)) throw new MirrorArchiveError('CHUNK_UNLISTED', `${name} is not listed in ${CHECKSUMS_FILE}: not part of this archive set`, { file: name });
  }
  const bad: string[] = [];
  for (const name of names) if ((await sha256File(join(dir, name))) !== listed.get(name)) bad.push(name);
  if (bad.length > 0) {
    throw new MirrorArchiveError('CHUNK_CORRUPT', `${bad.join(', ')} ${bad.length === 1 ? 'does' : 'do'} not match ${CHECKSUMS_FILE} (damaged or incomplete copy): copy ${bad.length === 1 ? 'it' : 'them'} again`, { file: bad[0]! });
  }
  return listed;
};

export const openArchiveSet = async (dir: string, opts: ArchiveSetOptions = {}): Promise<ArchiveSet> => {
  const names = (await readdir(dir)).filter((n) => CHUNK_NAME.test(n)).sort();
  if (names.length === 0) throw new MirrorArchiveError('CHUNK_MISSING', `${dir}: no mirror_NNNNNN.tar chunks`);
  const sums = await verifyChunks(dir, names, opts.checksums ?? 'required');

  const members = new Map<string, Located>();
  const chunks: ArchiveChunk[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const size = (await stat(file)).size;
    chunks.push({ name, path: file, size, sha256: sums?.get(name) });
    const fh = await open(file, 'r');
    try {
      for (const m of await indexTar(fh, size, name)) members.set(m.path, { file, offset: m.offset, size: m.size });
    } finally {
      await fh.close();
    }
  }

  const blobs = new Map<string, Located>();
  const repos = new Map<string, { revisions: Set<string>; tags: Map<string, string> }>();
  const repo = (name: string) => {
    let r = repos.get(name);
    if (!r) repos.set(name, (r = { revisions: new Set(), tags: new Map() }));
    return r;
  };
  let imageSetConfig: string | undefined;
  const workingDirFiles: string[] = [];
  for (const [path, loc] of members) {
    if (path.startsWith(`${WORKING_DIR}/`)) workingDirFiles.push(path.slice(WORKING_DIR.length + 1));
    else if (path.startsWith(ISC_PREFIX) && !path.includes('/')) imageSetConfig = imageSetConfig === undefined || path > imageSetConfig ? path : imageSetConfig;
    const p = parseRegistryPath(path);
    if (!p) continue;
    if (p.kind === 'blob') blobs.set(p.digest, loc);
    else if (p.kind === 'revision') repo(p.repo).revisions.add(p.digest);
    else if (p.kind === 'tag-current') {
      if (loc.size > MAX_LINK) throw new MirrorArchiveError('TAR_INVALID', `${path}: link file too large`, { file: path });
      const target = (await readAt(loc)).toString('latin1').trim();
      try {
        repo(p.repo).tags.set(p.tag, parseDigest(target).text);
      } catch {
        throw new MirrorArchiveError('TAR_INVALID', `${path}: not a digest (${JSON.stringify(target.slice(0, 80))})`, { file: path });
      }
    } else if (p.kind === 'layer') repo(p.repo);
  }

  const images: ArchiveImage[] = [];
  for (const name of [...repos.keys()].sort()) {
    const r = repos.get(name)!;
    const all = new Map<string, ArchiveImage>();
    for (const digest of [...new Set([...r.revisions, ...r.tags.values()])].sort()) {
      const tags = [...r.tags].filter(([, d]) => d === digest).map(([t]) => t).sort();
      const loc = blobs.get(digest);
      let manifest: Buffer | undefined;
      let parsed: ReturnType<typeof parseManifest> | undefined;
      if (loc) {
        if (loc.size > MAX_MANIFEST) throw new MirrorArchiveError('IMAGE_INVALID', `${name}@${digest}: manifest of ${loc.size} bytes is too large`, { file: digest });
        manifest = await readAt(loc);
        try {
          parsed = parseManifest(manifest, undefined);
        } catch (err) {
          throw new MirrorArchiveError('IMAGE_INVALID', `${name}@${digest}: ${(err as Error).message}`, { file: digest });
        }
      }
      all.set(digest, { repo: name, digest, tags, manifest, mediaType: parsed?.mediaType, kind: parsed?.kind, references: parsed ? [...parsed.manifests, ...parsed.blobs] : [] });
    }
    const seen = new Set<string>();
    const visit = (digest: string) => {
      const img = all.get(digest);
      if (!img || seen.has(digest)) return;
      seen.add(digest);
      if (img.kind === 'index') for (const child of img.references) visit(child);
      images.push(img);
    };
    for (const digest of all.keys()) visit(digest);
  }

  const locate = (digest: string): Located => {
    const loc = blobs.get(digest);
    if (!loc) throw new MirrorArchiveError('BLOB_UNKNOWN', `blob ${digest} is not in this archive set`, { file: digest });
    return loc;
  };

  return {
    dir,
    chunks,
    images,
    imageSetConfig,
    workingDirFiles: workingDirFiles.sort(),
    hasBlob: (digest) => blobs.has(digest),
    blobSize: (digest) => blobs.get(digest)?.size,
    openBlob(digest) {
      const loc = locate(digest);
      const d = parseDigest(digest);
      const hash = hasher(d.algorithm);
      let got = 0;
      const check = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          got += chunk.length;
          hash.update(chunk);
          cb(null, chunk);
        },
        flush(cb) {
          const actual = `${d.algorithm}:${hash.digest('hex')}`;
          cb(actual === digest && got === loc.size ? null : new MirrorArchiveError('BLOB_MISMATCH', `blob ${digest} read from ${loc.file} hashes to ${actual}`, { file: digest }));
        },
      });
      return pipeline(memberStream(loc), check, () => {});
    },
    openMember(path) {
      const loc = members.get(path);
      if (!loc) throw new MirrorArchiveError('BLOB_UNKNOWN', `${path} is not in this archive set`, { file: path });
      return memberStream(loc);
    },
  };
};
