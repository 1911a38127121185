import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { OciClientError } from './errors.js';
import { ConsumerError, type OnBody, rawGet, UnsupportedFraming } from './raw-get.js';
import { pullScope } from './token-auth.js';
import type { Transport } from './transport.js';

export interface ReadBlobOptions {
  /** Start here (a resumed download). The digest is checked only for a read from 0. */
  offset?: number;
  /** The blob's size from its descriptor; when absent, the registry's Content-Length / Content-Range. */
  size?: number;
  /**
   * false: the bytes are not hashed here, because the consumer checks them against the digest
   * itself before using them (a registry upload verifying as it writes): one hash instead of two.
   * The size is still checked. Default true.
   */
  checkDigest?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const splitDigest = (digest: string) => {
  const colon = digest.indexOf(':');
  return [digest.slice(0, colon), digest.slice(colon + 1)] as const;
};

const digestMismatch = (digest: string, algorithm: string, got: string) =>
  new OciClientError(`digest mismatch for blob ${digest}: content hashes to ${algorithm}:${got}`, 400);

const tooLong = (digest: string, size: number) => new OciClientError(`blob ${digest} is longer than the ${size} bytes its descriptor gives`, 400);

const cut = (digest: string, at: number, size: number) =>
  new OciClientError(`connection closed at ${at} of ${size} bytes of blob ${digest}`, undefined, { retryable: true });

/** The total size from a 200's Content-Length or a 206's Content-Range (`bytes a-b/total`). */
const totalOf = (status: number, headers: Record<string, string | string[] | undefined>): number | undefined => {
  if (status === 206) {
    const m = /\/(\d+)\s*$/.exec(String(headers['content-range'] ?? ''));
    return m ? Number(m[1]) : undefined;
  }
  const length = headers['content-length'];
  return length !== undefined && /^\d+$/.test(String(length)) ? Number(length) : undefined;
};

/**
 * Streams blob `digest` from `offset`: yields chunks as they arrive, resumes with a Range request
 * after a drop (skipping what a server that ignores Range sends again), and, read from 0, throws
 * once the last chunk is out if the bytes do not hash to the digest. A consumer must treat what
 * it received as unverified until the iteration ends without an error.
 */
export async function* readBlob(t: Transport, repo: string, digest: string, o: ReadBlobOptions = {}): AsyncGenerator<Buffer> {
  const [algorithm, hex] = splitDigest(digest);
  const offset = o.offset ?? 0;
  const hash = offset === 0 && o.checkDigest !== false ? createHash(algorithm) : undefined;
  let size = o.size;
  let position = offset;
  for (let n = 0; ; n++) {
    const before = position;
    try {
      if (size !== undefined && position >= size && position > 0) break;
      const res = await t.getFollowing(`/v2/${repo}/blobs/${digest}`, position > 0 ? { Range: `bytes=${position}-` } : {}, [pullScope(repo)], o.signal);
      if (res.status !== 200 && res.status !== 206) await t.fail(res, `get blob ${digest}`);
      size ??= totalOf(res.status, res.headers);
      let skip = position > 0 && res.status === 200 ? position : 0;
      for await (const data of res.body) {
        let chunk = data as Buffer;
        if (skip > 0) {
          const drop = Math.min(skip, chunk.length);
          skip -= drop;
          chunk = chunk.subarray(drop);
          if (chunk.length === 0) continue;
        }
        if (size !== undefined && position + chunk.length > size) throw tooLong(digest, size);
        hash?.update(chunk);
        position += chunk.length;
        if (size !== undefined) o.onProgress?.(position, size);
        yield chunk;
      }
      if (size === undefined) size = position; // no length given: the end of a complete body is the end
      if (position < size) throw cut(digest, position, size);
      break;
    } catch (err) {
      // A transfer that made progress resumes at once, with its retries renewed.
      const progressed = position > before;
      await t.retrier.pause(`get blob ${digest}`, err, progressed ? 0 : n, { ...(o.signal ? { signal: o.signal } : {}), progressed });
      if (progressed) n = -1;
    }
  }
  if (hash) {
    const got = hash.digest('hex');
    if (got !== hex) throw digestMismatch(digest, algorithm, got);
  }
}

/** readBlob as a Node Readable (bytes, not objects); an error (a digest mismatch too) destroys it. */
export const blobStream = (t: Transport, repo: string, digest: string, o: ReadBlobOptions = {}): Readable =>
  Readable.from(readBlob(t, repo, digest, o), { objectMode: false, highWaterMark: 1024 * 1024 });

/**
 * The push-style twin of readBlob for big blobs: over plain HTTP the body is read into one
 * reused buffer (raw-get.ts: no garbage per read) and each chunk goes to `onData`, which returns
 * a promise while it still holds the chunk's bytes; resumes with Range after a drop and throws at
 * the end if the bytes do not hash to `digest`. Over HTTPS, or after a redirect or a chunked
 * answer, it iterates readBlob. An error thrown by `onData` ends the download at once (never retried).
 */
export const blobPush = async (
  t: Transport,
  repo: string,
  digest: string,
  size: number,
  onData: OnBody,
  o: Pick<ReadBlobOptions, 'signal' | 'onProgress' | 'checkDigest'> = {},
): Promise<void> => {
  const target = new URL(t.url(`/v2/${repo}/blobs/${digest}`));
  const viaReadBlob = async () => {
    for await (const chunk of readBlob(t, repo, digest, { size, ...o })) {
      // An aborted response body may still hand over chunks it had buffered: not passed on.
      o.signal?.throwIfAborted();
      await onData(chunk);
    }
  };
  if (target.protocol !== 'http:') return viaReadBlob();
  const [algorithm, hex] = splitDigest(digest);
  const hash = o.checkDigest === false ? undefined : createHash(algorithm);
  const scopes = [pullScope(repo)];
  let received = 0;
  let consumerError: unknown;
  let authRetried = false;
  for (let n = 0; ; n++) {
    const before = received;
    let skip = 0;
    try {
      const authorization = await t.auth.headers(scopes);
      const res = await rawGet(
        target,
        { ...authorization, ...(received > 0 ? { Range: `bytes=${received}-` } : {}) },
        (chunk): Promise<void> | undefined => {
          if (skip > 0) {
            const drop = Math.min(skip, chunk.length);
            skip -= drop;
            chunk = chunk.subarray(drop);
            if (chunk.length === 0) return undefined;
          }
          if (received + chunk.length > size) throw tooLong(digest, size);
          hash?.update(chunk);
          received += chunk.length;
          o.onProgress?.(received, size);
          return onData(chunk);
        },
        {
          timeoutMs: 60_000,
          ...(o.signal ? { signal: o.signal } : {}),
          // A server that ignores Range answers 200 with the whole blob again.
          onStatus: (status) => (skip = status === 200 ? received : 0),
        },
      ).catch((err: unknown) => {
        if (err instanceof ConsumerError) consumerError = err.inner;
        if (err instanceof UnsupportedFraming && received === 0) return undefined;
        throw err;
      });
      // A chunked answer, or a redirect to object storage: the regular client reads it.
      if (res === undefined || (res.status >= 300 && res.status < 400 && res.headers.location && received === 0)) return viaReadBlob();
      if (res.status === 401 && !authRetried && (await t.auth.challenged(res.headers['www-authenticate'], scopes, authorization))) {
        authRetried = true;
        n--;
        continue;
      }
      if (res.status !== 200 && res.status !== 206) throw t.errorFrom(res.status, res.headers, res.errorBody ?? '', `get blob ${digest}`);
      if (received < size) throw cut(digest, received, size);
      break;
    } catch (err) {
      if (consumerError !== undefined) throw consumerError;
      o.signal?.throwIfAborted();
      // Every byte is in (the connection failed after the end): no Range request past the end.
      if (received > 0 && received === size) break;
      const progressed = received > before;
      await t.retrier.pause(`get blob ${digest}`, err, progressed ? 0 : n, { ...(o.signal ? { signal: o.signal } : {}), progressed });
      if (progressed) n = -1;
    }
  }
  const got = hash?.digest('hex');
  if (got !== undefined && got !== hex) throw digestMismatch(digest, algorithm, got);
};
