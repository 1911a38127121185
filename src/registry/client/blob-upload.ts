import { createHash } from 'node:crypto';
import { giveBuffer, takeBuffer } from '../../lib/buffer-pool.js';
import type { ByteBudget } from './byte-budget.js';
import { chunkReader } from './chunk-reader.js';
import { OciClientError } from './errors.js';
import { pullScope, pushScope } from './token-auth.js';
import type { Transport } from './transport.js';

export interface UploadOptions {
  /** An upload session already opened (a mount the registry answered with 202). */
  uploadUrl?: string;
  /**
   * The bytes are checked against the digest elsewhere, so the upload does not hash them: by the
   * source as it reads them (readBlob / blobStream from 0 throw at their end on a mismatch, and the
   * end is always read before the final PUT), or by the registry receiving them, which refuses a
   * final PUT whose bytes do not match (DIGEST_INVALID) and keeps nothing.
   */
  hashedElsewhere?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export type MountResult = { mounted: true } | { mounted: false; uploadUrl?: string };

const MiB = 1024 * 1024;

/** Where an upload stands at the registry: the bytes it holds (Range `0-<last>`), and its Location. */
const uploadStatus = async (t: Transport, repo: string, location: string): Promise<{ offset: number; location: string }> => {
  const st = await t.send(location, { method: 'GET', scopes: [pushScope(repo)] });
  st.body.resume();
  if (st.status !== 204) await t.fail(st, 'upload status');
  const end = /^(?:bytes=)?0-(\d+)$/.exec(String(st.headers.range ?? ''));
  return { offset: end && Number(end[1]) > 0 ? Number(end[1]) + 1 : 0, location: st.headers.location ? t.url(String(st.headers.location)) : location };
};

/** The upload's Location with `digest=` added: the URL of the PUT that closes it. */
const closingUrl = (location: string, digest: string) => `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;

export const createBlobUploads = (t: Transport, o: { chunkSize: number; budget: ByteBudget; onProgress?: (done: number, total: number) => void }) => {
  const startUpload = async (repo: string): Promise<string> =>
    t.retrier.run('start upload', async () => {
      const res = await t.send(`/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'Content-Length': '0' }, scopes: [pushScope(repo)] });
      res.body.resume();
      if (res.status !== 202 || !res.headers.location) await t.fail(res, `start upload to ${repo}`);
      return t.url(String(res.headers.location));
    });

  /**
   * PATCHes `chunk` (bytes start…start+len-1); after a failure asks the registry where it stands
   * and sends the rest. `resuming`: a send of this chunk already failed, so the first thing is
   * to ask where the registry stands.
   */
  const patchChunk = async (repo: string, location: string, chunk: Buffer, start: number, signal?: AbortSignal, resuming = false): Promise<string> => {
    let from = start;
    for (let n = 0; ; n++) {
      try {
        if (n > 0 || resuming) {
          const st = await uploadStatus(t, repo, location);
          location = st.location;
          if (st.offset === start + chunk.length) return location;
          if (st.offset < start || st.offset > start + chunk.length) {
            throw new OciClientError(`upload to ${repo}: the registry holds ${st.offset} bytes, expected ${start} to ${start + chunk.length}`, 416);
          }
          from = st.offset;
        }
        const body = chunk.subarray(from - start);
        const res = await t.send(location, {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length), 'Content-Range': `${from}-${from + body.length - 1}` },
          body,
          scopes: [pushScope(repo)],
          ...(signal ? { signal } : {}),
        });
        res.body.resume();
        if (res.status !== 202) await t.fail(res, `upload chunk to ${repo}`);
        return res.headers.location ? t.url(String(res.headers.location)) : location;
      } catch (err) {
        await t.retrier.pause(`upload chunk to ${repo}`, err, n, signal ? { signal } : {});
      }
    }
  };

  const finish = async (repo: string, location: string, digest: string, size: number) => {
    await t.retrier.run(`finish upload of ${digest}`, async (n) => {
      const res = await t.send(closingUrl(location, digest), { method: 'PUT', headers: { 'Content-Length': '0' }, scopes: [pushScope(repo)], timeoutMs: 600_000 });
      res.body.resume();
      if (res.status === 201) return;
      // A retried PUT whose first try went through finds the session gone and the blob there.
      if (n > 0 && res.status === 404 && (await blobExists(repo, digest))) return;
      await t.fail(res, `finish upload of ${digest} (${size} bytes) to ${repo}`);
    });
  };

  /**
   * The final PUT, carrying the last chunk (bytes start…size-1) as its body, as the distribution
   * spec allows (one request per blob fewer than a PATCH and an empty PUT). After a failure that is
   * worth a retry: done when the blob is there (the PUT went through, its answer was lost), else the
   * rest of the chunk is PATCHed from where the registry stands and the upload closed with an
   * empty PUT. A refusal (DIGEST_INVALID, SIZE_INVALID) is thrown.
   */
  const finishWithChunk = async (repo: string, location: string, chunk: Buffer, start: number, digest: string, size: number, signal?: AbortSignal) => {
    try {
      const res = await t.send(closingUrl(location, digest), {
        method: 'PUT',
        // Content-Range as on a PATCH: zot takes a PUT body without one for a whole blob from byte 0.
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(chunk.length), 'Content-Range': `${start}-${start + chunk.length - 1}` },
        body: chunk,
        scopes: [pushScope(repo)],
        timeoutMs: 600_000,
        ...(signal ? { signal } : {}),
      });
      res.body.resume();
      if (res.status === 201) return;
      await t.fail(res, `finish upload of ${digest} (${size} bytes) to ${repo}`);
    } catch (err) {
      await t.retrier.pause(`finish upload of ${digest}`, err, 0, signal ? { signal } : {});
    }
    if (await blobExists(repo, digest)) return;
    try {
      await finish(repo, await patchChunk(repo, location, chunk, start, signal, true), digest, size);
    } catch (err) {
      // The upload gone (404) while the registry was still committing what that PUT sent: done if the blob is there now.
      if (err instanceof OciClientError && err.status === 404 && (await blobExists(repo, digest))) return;
      throw err;
    }
  };

  const blobExists = async (repo: string, digest: string): Promise<boolean> =>
    t.retrier.run(`HEAD blob ${digest}`, async () => {
      const res = await t.send(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD', scopes: [pullScope(repo)] });
      res.body.resume();
      if (res.status === 200) return true;
      if (res.status === 404) return false;
      return t.fail(res, `HEAD blob ${digest}`);
    });

  /**
   * Uploads `size` bytes read from `source` as blob `digest`: POST, then PATCH chunks of at most
   * chunkSize bytes (Content-Length and Content-Range; the next chunk is read while one is sent),
   * the last of them as the body of the closing PUT ?digest= (a blob of one chunk: POST and PUT).
   * Every chunk held in memory counts against the byte budget shared by all uploads (it waits its
   * turn when the budget is spent). A chunk cut short is sent again from
   * where the registry says it stands. The bytes are hashed as they go (unless the source checks
   * them itself) and the upload is cancelled, not finished, when they do not hash to `digest` or
   * do not add up to `size`.
   */
  const uploadBlob = async (repo: string, digest: string, size: number, source: AsyncIterable<Buffer>, u: UploadOptions = {}): Promise<void> => {
    const algorithm = digest.slice(0, digest.indexOf(':'));
    const hash = u.hashedElsewhere ? undefined : createHash(algorithm);
    const onProgress = u.onProgress ?? o.onProgress;
    const reader = chunkReader(source);
    let location = u.uploadUrl ?? (await startUpload(repo));
    type Held = { bytes: Buffer; release: (reusable: boolean) => void };
    const take = async (from: number): Promise<Held> => {
      const want = Math.min(o.chunkSize, size - from);
      // Chunks of 1 MiB and more live in pooled buffers of a power-of-two size (what the budget
      // counts): the run reuses a few instead of leaving every freed one to the GC.
      const pooled = want >= MiB ? Math.min(2 ** Math.ceil(Math.log2(want)), Math.max(o.chunkSize, want)) : 0;
      const giveBack = await o.budget.acquire(pooled || want, u.signal);
      const buffer = pooled ? takeBuffer(pooled) : undefined;
      const release = (reusable: boolean) => {
        // After a failed send the socket may still hold the bytes: that buffer is left to the GC.
        if (buffer && reusable) giveBuffer(buffer);
        giveBack();
      };
      try {
        return { bytes: await reader.read(want, buffer), release };
      } catch (err) {
        release(false);
        throw err;
      }
    };
    /** Before the final PUT: the source gave exactly `size` bytes, and they hash to `digest` (when hashed here). */
    const checkWhole = async () => {
      if (!(await reader.drained())) throw new OciClientError(`blob ${digest}: the source has more than the ${size} bytes its descriptor gives`, 400);
      const got = hash ? `${algorithm}:${hash.digest('hex')}` : digest;
      if (got !== digest) throw new OciClientError(`digest mismatch for blob ${digest}: the bytes sent hash to ${got}`, 400);
    };
    let next: Promise<Held> | undefined = size > 0 ? take(0) : undefined;
    try {
      let sent = 0;
      while (next) {
        const chunk = await next;
        next = undefined;
        let sentWhole = false;
        try {
          if (chunk.bytes.length === 0) throw new OciClientError(`blob ${digest}: the source ended at ${sent} of ${size} bytes`, 400);
          hash?.update(chunk.bytes);
          if (sent + chunk.bytes.length < size) {
            next = take(sent + chunk.bytes.length);
            next.catch(() => {}); // awaited on the next turn; a failing send must not leave it unhandled
            location = await patchChunk(repo, location, chunk.bytes, sent, u.signal);
          } else {
            // The last chunk rides on the final PUT, once the bytes are known whole and right.
            await checkWhole();
            await finishWithChunk(repo, location, chunk.bytes, sent, digest, size, u.signal);
          }
          sentWhole = true;
          sent += chunk.bytes.length;
        } finally {
          chunk.release(sentWhole);
        }
        onProgress?.(sent, size);
      }
      // An empty blob: nothing to carry, the PUT closes the upload.
      if (size === 0) {
        await checkWhole();
        await finish(repo, location, digest, size);
      }
    } catch (err) {
      void next?.then((c) => c.release(true), () => {});
      await reader.close().catch(() => {});
      // Best effort: let the registry drop the half-done upload now rather than at its expiry.
      await t
        .send(location, { method: 'DELETE', scopes: [pushScope(repo)] })
        .then((r) => r.body.resume())
        .catch(() => {});
      throw err;
    }
  };

  /**
   * Asks the registry to mount blob `digest` of repository `from` into `repo` (same registry).
   * A registry that cannot (the blob is not there, no pull access to `from`) starts an upload
   * instead: its URL is handed back for the copy to use.
   */
  const mountBlob = async (repo: string, digest: string, from: string): Promise<MountResult> => {
    const res = await t.send(`/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, {
      method: 'POST',
      headers: { 'Content-Length': '0' },
      scopes: [pushScope(repo), pullScope(from)],
    });
    res.body.resume();
    if (res.status === 201) return { mounted: true };
    if (res.status === 202 && res.headers.location) return { mounted: false, uploadUrl: t.url(String(res.headers.location)) };
    return { mounted: false };
  };

  /** A monolithic upload (POST ?digest= with the bytes, or POST then PUT), unless the blob is there already. */
  const pushBytes = async (repo: string, bytes: Buffer, digest: string): Promise<void> => {
    if (await blobExists(repo, digest)) return;
    await t.retrier.run(`push blob ${digest}`, async () => {
      const res = await t.send(`/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
        body: bytes,
        scopes: [pushScope(repo)],
      });
      res.body.resume();
      if (res.status === 201) return;
      // A registry that does no single-POST upload (distribution 2.x) opens a session instead: PUT the bytes there.
      if (res.status !== 202 || !res.headers.location) await t.fail(res, `push blob ${digest}`);
      const location = t.url(String(res.headers.location));
      const done = await t.send(closingUrl(location, digest), {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
        body: bytes,
        scopes: [pushScope(repo)],
      });
      done.body.resume();
      if (done.status !== 201) await t.fail(done, `push blob ${digest}`);
    });
  };

  return { blobExists, uploadBlob, mountBlob, pushBytes };
};
