import { digestOf, isDigest, parseDigest } from './core/digest.js';
import { RegistryError } from './core/errors.js';
import { MEDIA, parseManifest } from './core/manifest.js';
import { checkName, checkTag, isTag } from './core/names.js';
import { createByteLru } from '../lib/byte-lru.js';
import type { RegistryMeta } from './meta/meta.js';
import type { BlobStore } from './storage/blob-store.fs.js';
import type { KeyedLock } from './storage/keyed-lock.js';

export interface Page<T> {
  items: T[];
  /** `last` for the next page, when there may be one. */
  next: string | undefined;
}

const MAX_PAGE = 10_000;
const MAX_MANIFEST = 4 * 1024 * 1024;
/** `?tag=` parameters one manifest push may carry (the spec asks for at least 10). */
const MAX_TAG_PARAMS = 100;
/** Manifest bytes kept in memory, by digest (immutable, so never stale): a GET by tag reads no file. */
const MANIFEST_CACHE_BYTES = 16 * 1024 * 1024;

/** Repositories, blobs, manifests, tags and referrers: the registry's domain, free of HTTP. */
export const createRegistryService = (deps: { meta: RegistryMeta; store: BlobStore; lock: KeyedLock; now: () => number }) => {
  const { meta, store } = deps;
  const manifestBytes = createByteLru(MANIFEST_CACHE_BYTES);
  let indexWrite: Promise<void> = Promise.resolve();
  /** Keeps index.json in step with the tags, one rewrite at a time, latest state wins. */
  const syncIndex = () => {
    indexWrite = indexWrite.then(() => store.writeIndex(meta.taggedManifests())).catch(() => {});
    return indexWrite;
  };

  const blobIn = (repo: string, digest: string) => {
    parseDigest(digest);
    const row = meta.repoHasBlob(repo, digest) ? meta.blob(digest) : undefined;
    if (!row) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is unknown to ${repo}`, { detail: { digest } });
    return row;
  };

  /**
   * A pull's reference to a digest. A reference that cannot be a tag names no manifest: 404
   * MANIFEST_UNKNOWN, as the spec says for any manifest not found (only a push refuses it, 400).
   */
  const resolve = (repo: string, reference: string): string => {
    if (isDigest(reference)) return reference;
    if (reference.includes(':')) parseDigest(reference);
    if (!isTag(reference)) throw new RegistryError('MANIFEST_UNKNOWN', `no manifest ${repo}:${reference} (not a valid tag)`, { detail: { tag: reference } });
    const digest = meta.tag(repo, reference);
    if (!digest) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${repo}:${reference} is unknown`, { detail: { tag: reference } });
    return digest;
  };

  const page = (n: string | undefined, fallback: number): number => {
    if (n === undefined) return fallback;
    if (!/^\d+$/.test(n)) throw new RegistryError('UNSUPPORTED', `n must be a whole number, got ${JSON.stringify(n)}`, { status: 400 });
    return Math.min(Number(n), MAX_PAGE);
  };

  return {
    syncIndex,
    checkName,
    /** A blob's size, when `repo` may read it. */
    blob: (repo: string, digest: string) => blobIn(checkName(repo), digest),
    async deleteBlob(repo: string, digest: string): Promise<void> {
      blobIn(checkName(repo), digest);
      meta.unlinkBlob(repo, digest);
    },
    /**
     * Cross-repo mount (or, without `from`, any blob the registry holds). False (the client uploads
     * it) when unknown, or when its file is gone (a scrub moved damaged bytes aside).
     */
    async mount(repo: string, digest: string, from: string | undefined): Promise<boolean> {
      parseDigest(digest);
      if (from !== undefined) checkName(from);
      const row = meta.blob(digest);
      if (!row || (from !== undefined && !meta.repoHasBlob(from, digest))) return false;
      if ((await store.size(digest)) !== row.size) return false;
      // Re-checked after the await, then linked in the same tick: a GC may have swept it meanwhile.
      if (!meta.blob(digest)) return false;
      meta.linkBlob(repo, digest, row.size, deps.now());
      return true;
    },
    /**
     * PUT by tag, or by digest with any number of `?tag=` parameters (distribution-spec: tags set
     * in the same transaction as the manifest; every tag checked before anything is written).
     */
    async putManifest(repo: string, reference: string, bytes: Uint8Array, contentType: string | undefined, tagParams: string[] = []) {
      checkName(repo);
      if (bytes.length > MAX_MANIFEST) throw new RegistryError('MANIFEST_INVALID', `manifest larger than ${MAX_MANIFEST} bytes`);
      const byDigest = isDigest(reference);
      if (tagParams.length > MAX_TAG_PARAMS) throw new RegistryError('TAG_INVALID', `at most ${MAX_TAG_PARAMS} tag parameters per push`, { status: 414 });
      const tags = [...new Set([...(byDigest ? [] : [reference]), ...tagParams])].map((t) => checkTag(t));
      const algorithm = byDigest ? parseDigest(reference).algorithm : 'sha256';
      const digest = digestOf(bytes, algorithm);
      if (byDigest && digest !== reference) {
        throw new RegistryError('DIGEST_INVALID', `manifest digest is ${digest}, not ${reference}`, { detail: { expected: reference, actual: digest } });
      }
      const parsed = parseManifest(bytes, contentType);
      await deps.lock(digest, async () => {
        const wrote = (await store.size(digest)) !== bytes.length;
        if (wrote) await store.writeBlob(digest, bytes);
        try {
          meta.putManifest(
            { repo, digest, mediaType: parsed.mediaType, size: bytes.length, artifactType: parsed.artifactType, subject: parsed.subject?.digest ?? null, annotations: parsed.annotations, createdAt: deps.now() },
            parsed,
            tags,
          );
        } catch (err) {
          // Refused (a blob it names is unknown, the database failed): leave no file behind.
          if (wrote && !meta.knowsDigest(digest)) await store.removeBlob(digest);
          throw err;
        }
      });
      manifestBytes.set(digest, bytes);
      if (tags.length) await syncIndex();
      return { digest, subject: parsed.subject?.digest ?? null, tags };
    },
    async manifest(repo: string, reference: string) {
      checkName(repo);
      const digest = resolve(repo, reference);
      const row = meta.manifest(repo, digest);
      if (!row) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${repo}@${digest} is unknown`, { detail: { digest } });
      // The row, checked first, says whether the manifest exists in this repository; the bytes
      // come from the cache or the file.
      let bytes = manifestBytes.get(digest);
      if (bytes === undefined) {
        bytes = await store.readAll(digest).catch((err: NodeJS.ErrnoException) => {
          // Its file is gone (a scrub moved damaged bytes aside): unknown until pushed again.
          if (err.code === 'ENOENT') throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${repo}@${digest} is missing from storage; push it again`, { detail: { digest } });
          throw err;
        });
        // Only bytes that match their digest are kept; a damaged file is served as it is, as before.
        if (bytes.length === row.size && digestOf(bytes, parseDigest(digest).algorithm) === digest) manifestBytes.set(digest, bytes);
      }
      return { row, bytes };
    },
    async manifestHead(repo: string, reference: string) {
      checkName(repo);
      const digest = resolve(repo, reference);
      const row = meta.manifest(repo, digest);
      if (!row) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${repo}@${digest} is unknown`, { detail: { digest } });
      // As GET: a manifest whose file is gone is unknown (the cache spares the stat for hot ones).
      if (!manifestBytes.get(digest) && (await store.size(digest)) === undefined) {
        throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${repo}@${digest} is missing from storage; push it again`, { detail: { digest } });
      }
      return row;
    },
    /** DELETE by tag removes the tag; by digest removes the manifest and every tag on it. */
    async deleteManifest(repo: string, reference: string): Promise<void> {
      checkName(repo);
      if (isDigest(reference)) {
        if (!meta.deleteManifest(repo, reference)) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${repo}@${reference} is unknown`);
      } else {
        checkTag(reference);
        if (!meta.deleteTag(repo, reference)) throw new RegistryError('MANIFEST_UNKNOWN', `tag ${repo}:${reference} is unknown`);
      }
      await syncIndex();
    },
    tags(repo: string, n: string | undefined, last: string | undefined): Page<string> {
      checkName(repo);
      if (!meta.repoExists(repo)) throw new RegistryError('NAME_UNKNOWN', `repository ${repo} is unknown`, { detail: { name: repo } });
      const limit = page(n, MAX_PAGE);
      const items = limit === 0 ? [] : meta.tags(repo, limit, last);
      return { items, next: items.length === limit && limit > 0 ? items[items.length - 1] : undefined };
    },
    catalog(n: string | undefined, last: string | undefined): Page<string> {
      const limit = page(n, MAX_PAGE);
      const items = limit === 0 ? [] : meta.catalog(limit, last);
      return { items, next: items.length === limit && limit > 0 ? items[items.length - 1] : undefined };
    },
    /** The referrers index of `digest` in `repo`, optionally filtered by artifactType. */
    referrers(repo: string, digest: string, artifactType: string | undefined) {
      checkName(repo);
      parseDigest(digest);
      const rows = meta.referrers(repo, digest).filter((r) => artifactType === undefined || r.artifactType === artifactType);
      return {
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: rows.map((r) => ({
          mediaType: r.mediaType,
          digest: r.digest,
          size: r.size,
          ...(r.artifactType ? { artifactType: r.artifactType } : {}),
          ...(r.annotations ? { annotations: r.annotations } : {}),
        })),
      };
    },
    isTag,
  };
};
export type RegistryService = ReturnType<typeof createRegistryService>;
