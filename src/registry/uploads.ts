import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type Algorithm, hasher, parseDigest } from './core/digest.js';
import { RegistryError } from './core/errors.js';
import type { RegistryMeta } from './meta/meta.js';
import type { BlobStore } from './storage/blob-store.fs.js';
import type { KeyedLock } from './storage/keyed-lock.js';

interface Session {
  offset: number;
  hash: Hash | undefined;
  /** The write in progress, if any; a dropped client's request settles it soon after the drop. */
  writing: Promise<void> | undefined;
}

/** Lets a write whose client went away settle, so the reported offset is what is on disk. */
const settled = async (s: Session) => {
  if (s.writing) await Promise.race([s.writing.catch(() => {}), new Promise((r) => setTimeout(r, 10_000))]);
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Blob upload sessions: chunked (PATCH with Content-Range, in order), streamed, monolithic.
 * Each session's bytes go to a temp file while a running sha256 is kept in memory; if the
 * process restarted meanwhile, the digest is recomputed from the file at the end. A blob is
 * visible only after its digest is verified and the file renamed into place.
 */
export const createUploads = (deps: { meta: RegistryMeta; store: BlobStore; lock: KeyedLock; now: () => number; maxConcurrent: number }) => {
  const { meta, store } = deps;
  const sessions = new Map<string, Session>();
  let streaming = 0;

  const session = async (repo: string, id: string): Promise<Session> => {
    const row = UUID.test(id) ? meta.upload(id) : undefined;
    if (!row || row.repo !== repo) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is unknown or expired`, { detail: { id } });
    let s = sessions.get(id);
    if (!s) {
      // After a restart: the file on disk is the truth; the digest will be recomputed.
      const size = (await store.uploadSize(id)) ?? 0;
      s = { offset: size, hash: size === 0 ? hasher('sha256') : undefined, writing: undefined };
      sessions.set(id, s);
    }
    return s;
  };

  const limited = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (streaming >= deps.maxConcurrent) {
      throw new RegistryError('TOOMANYREQUESTS', `more than ${deps.maxConcurrent} concurrent uploads (REGISTRY_MAX_CONCURRENT_UPLOADS); retry later`);
    }
    streaming++;
    try {
      return await fn();
    } finally {
      streaming--;
    }
  };

  const append = async (id: string, s: Session, body: Readable): Promise<void> => {
    await settled(s);
    if (s.writing) throw new RegistryError('BLOB_UPLOAD_INVALID', 'another request is writing to this upload', { status: 416 });
    let done!: () => void;
    s.writing = new Promise<void>((r) => (done = r));
    try {
      const hash = s.hash;
      s.offset = await store.appendUpload(id, s.offset, body, (chunk) => hash?.update(chunk));
    } catch (err) {
      s.hash = undefined;
      s.offset = (await store.uploadSize(id)) ?? s.offset;
      throw err;
    } finally {
      s.writing = undefined;
      done();
      deps.meta.touchUpload(id, deps.now());
    }
  };

  const digestOfFile = async (id: string, algorithm: Algorithm): Promise<string> => {
    const h = hasher(algorithm);
    for await (const chunk of createReadStream(store.uploadPath(id), { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
    return `${algorithm}:${h.digest('hex')}`;
  };

  /** Verifies and publishes the upload as blob `digest`. */
  const finish = async (repo: string, id: string, s: Session, digestText: string): Promise<{ digest: string; size: number }> => {
    const want = parseDigest(digestText);
    const got = s.hash && want.algorithm === 'sha256' ? `sha256:${s.hash.digest('hex')}` : await digestOfFile(id, want.algorithm);
    s.hash = undefined;
    if (got !== want.text) {
      // The upload stays (its bytes are not what was claimed); the client may cancel or retry.
      throw new RegistryError('DIGEST_INVALID', `content digest is ${got}, not ${want.text}`, { detail: { expected: want.text, actual: got } });
    }
    const size = s.offset;
    await deps.lock(want.text, async () => {
      await store.commitUpload(id, want.text);
      meta.linkBlob(repo, want.text, size, deps.now());
    });
    meta.deleteUpload(id);
    sessions.delete(id);
    return { digest: want.text, size };
  };

  return {
    activeIds: () => [...sessions.entries()].filter(([, s]) => s.writing !== undefined).map(([id]) => id),
    async start(repo: string): Promise<string> {
      const id = randomUUID();
      await store.createUpload(id);
      meta.createUpload(id, repo, deps.now());
      sessions.set(id, { offset: 0, hash: hasher('sha256'), writing: undefined });
      return id;
    },
    async status(repo: string, id: string): Promise<number> {
      const s = await session(repo, id);
      await settled(s);
      return s.offset;
    },
    /** PATCH: `range` is the Content-Range start/end when given; chunks must arrive in order. */
    async patch(repo: string, id: string, range: { start: number; end: number } | undefined, body: Readable): Promise<number> {
      const s = await session(repo, id);
      await settled(s);
      if (range && range.start !== s.offset) {
        throw new RegistryError('BLOB_UPLOAD_INVALID', `chunk starts at ${range.start}, but the upload has ${s.offset} bytes; resume from there`, {
          status: 416,
          headers: { Range: `0-${Math.max(0, s.offset - 1)}` },
        });
      }
      await limited(() => append(id, s, body));
      if (range && s.offset !== range.end + 1) {
        throw new RegistryError('SIZE_INVALID', `Content-Range said ${range.end - range.start + 1} bytes, got ${s.offset - range.start}`);
      }
      return s.offset;
    },
    /** PUT ?digest=: optional last chunk, then verify and publish. */
    async complete(repo: string, id: string, digest: string, body: Readable | undefined): Promise<{ digest: string; size: number }> {
      parseDigest(digest);
      const s = await session(repo, id);
      if (body) await limited(() => append(id, s, body));
      return finish(repo, id, s, digest);
    },
    /** POST ?digest=: the whole blob in one request. */
    async monolithic(repo: string, digest: string, body: Readable): Promise<{ digest: string; size: number }> {
      parseDigest(digest);
      const id = await this.start(repo);
      const s = sessions.get(id)!;
      try {
        await limited(() => append(id, s, body));
        return await finish(repo, id, s, digest);
      } catch (err) {
        await this.cancel(repo, id).catch(() => {});
        throw err;
      }
    },
    async cancel(repo: string, id: string): Promise<void> {
      await session(repo, id);
      meta.deleteUpload(id);
      sessions.delete(id);
      await store.removeUpload(id);
    },
    forget(id: string) {
      sessions.delete(id);
    },
  };
};
export type Uploads = ReturnType<typeof createUploads>;
