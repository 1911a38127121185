import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { type Algorithm, hasher, parseDigest } from './core/digest.js';
import { RegistryError } from './core/errors.js';
import type { RegistryMeta } from './meta/meta.js';
import type { BlobStore } from './storage/blob-store.fs.js';
import type { KeyedLock } from './storage/keyed-lock.js';

interface Session {
  offset: number;
  hash: Hash | undefined;
  /**
   * Set while one request owns the upload (a PATCH, the closing PUT, a cancel): an upload has
   * one writer at a time, whatever the verb. A dropped client's request settles it soon after the drop.
   */
  writing: Promise<void> | undefined;
  /** The body being written, so that a cancel can stop it. */
  body: Readable | undefined;
}

/** Lets a write whose client went away settle, so the reported offset is what is on disk. */
const settled = async (s: Session) => {
  if (!s.writing) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([s.writing.catch(() => {}), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
  clearTimeout(timer);
};

const busy = () => new RegistryError('BLOB_UPLOAD_INVALID', 'another request is writing to this upload', { status: 416 });

/** A Content-Range that does not start where the upload ends: 416 with the Range to resume from. */
const outOfOrder = (start: number, offset: number) =>
  new RegistryError('BLOB_UPLOAD_INVALID', `chunk starts at ${start}, but the upload has ${offset} bytes; resume from there`, {
    status: 416,
    headers: { Range: `0-${Math.max(0, offset - 1)}` },
  });

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
      // Another request may have rebuilt it during the await: one session, so one writer.
      const again = sessions.get(id);
      if (again) return again;
      s = { offset: size, hash: size === 0 ? hasher('sha256') : undefined, writing: undefined, body: undefined };
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

  /** Runs `fn` as the upload's one writer, or refuses when another request holds it. */
  const exclusive = async <T>(s: Session, fn: () => Promise<T>): Promise<T> => {
    await settled(s);
    if (s.writing) throw busy();
    let done!: () => void;
    s.writing = new Promise<void>((r) => (done = r));
    try {
      return await fn();
    } finally {
      s.writing = undefined;
      done();
    }
  };

  /**
   * Appends `body` at the upload's end (the caller holds the upload). With a Content-Range the
   * body must be exactly that range: a body that runs past it is stopped at the first byte
   * beyond, one that falls short is refused at its end, and either way none of its bytes are kept.
   * A body that is not a stream (an in-process writer's chunks, which may be lent) is written
   * chunk by chunk; only a stream can be given a range or stopped by a cancel.
   */
  const append = async (id: string, s: Session, body: Readable | AsyncIterable<Buffer>, range?: { start: number; end: number }): Promise<void> => {
    const stream = body instanceof Readable ? body : undefined;
    const start = s.offset;
    const want = range ? range.end - range.start + 1 : Infinity;
    const hashBefore = range ? s.hash?.copy() : undefined;
    let received = 0;
    let overrun: RegistryError | undefined;
    const hash = s.hash;
    s.body = stream;
    const tap = (chunk: Buffer) => {
      received += chunk.length;
      if (received > want && !overrun) {
        overrun = new RegistryError('SIZE_INVALID', `Content-Range says ${want} bytes, the body has more; none of it was kept`, { status: 416 });
        stream?.destroy(overrun);
      }
      hash?.update(chunk);
    };
    try {
      s.offset = body instanceof Readable ? await store.appendUpload(id, s.offset, body, tap) : await store.appendChunks(id, s.offset, body, tap);
      if (received !== want && want !== Infinity) {
        throw new RegistryError('SIZE_INVALID', `Content-Range says ${want} bytes, the body had ${received}; none of it was kept`, { status: 416 });
      }
    } catch (err) {
      if (range) {
        // Refused: the upload goes back to where this request found it.
        await store.truncateUpload(id, start);
        s.offset = start;
        s.hash = hashBefore;
      } else {
        s.hash = undefined;
        s.offset = (await store.uploadSize(id)) ?? s.offset;
      }
      throw overrun ?? err;
    } finally {
      s.body = undefined;
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
      sessions.set(id, { offset: 0, hash: hasher('sha256'), writing: undefined, body: undefined });
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
      return exclusive(s, async () => {
        if (range && range.start !== s.offset) throw outOfOrder(range.start, s.offset);
        await limited(() => append(id, s, body, range));
        return s.offset;
      });
    },
    /** PUT ?digest=: an optional last chunk (honouring its Content-Range like a PATCH), then verify and publish. */
    async complete(repo: string, id: string, digest: string, body: Readable | undefined, range?: { start: number; end: number }): Promise<{ digest: string; size: number }> {
      parseDigest(digest);
      const s = await session(repo, id);
      return exclusive(s, async () => {
        if (range && range.start !== s.offset) throw outOfOrder(range.start, s.offset);
        if (body) await limited(() => append(id, s, body, range));
        return finish(repo, id, s, digest);
      });
    },
    /** POST ?digest=: the whole blob in one request (or in process, from an iterable of chunks). */
    async monolithic(repo: string, digest: string, body: Readable | AsyncIterable<Buffer>): Promise<{ digest: string; size: number }> {
      parseDigest(digest);
      const id = await this.start(repo);
      const s = sessions.get(id)!;
      try {
        return await exclusive(s, async () => {
          await limited(() => append(id, s, body));
          return finish(repo, id, s, digest);
        });
      } catch (err) {
        await this.cancel(repo, id).catch(() => {});
        throw err;
      }
    },
    /** DELETE: the upload is gone at once; a request still writing to it is stopped. */
    async cancel(repo: string, id: string): Promise<void> {
      const s = await session(repo, id);
      meta.deleteUpload(id);
      sessions.delete(id);
      s.body?.destroy(new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} was canceled`));
      await settled(s);
      await store.removeUpload(id);
    },
    forget(id: string) {
      sessions.delete(id);
    },
  };
};
export type Uploads = ReturnType<typeof createUploads>;
