import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { certFingerprint } from '../../lib/cert-fingerprint.js';
import { answeredInPlainHttp, tlsVerifyCode, untrustedCertificateReason } from '../../lib/tls-errors.js';
import { readAll, rawRequest, type RawResponse } from './http.js';
import { ConsumerError, type OnBody, rawGet, UnsupportedFraming } from './raw-get.js';

const FALLBACK: unique symbol = Symbol('fallback');
import { isLoopback } from './reference.js';

export interface ClientOptions {
  registry: string;
  plainHttp?: boolean;
  username?: string;
  password?: string;
  retries?: number;
  /**
   * PEM of the one CA the registry's certificate must be signed by, instead of the system's
   * trust store (the controller's site CA, pinned by the agent); implies HTTPS unless plainHttp
   * says otherwise. A redirect to another host is verified against the system's trust store.
   */
  ca?: string;
  onProgress?: (done: number, total: number) => void;
}

export class OciClientError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'OciClientError';
  }
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** A small OCI distribution client: streamed blob push/pull with resume and retries. */
export const createOciClient = (opts: ClientOptions) => {
  const scheme = (opts.plainHttp ?? (opts.ca === undefined && isLoopback(opts.registry))) ? 'http' : 'https';
  const base = `${scheme}://${opts.registry}`;
  const registryHost = new URL(base).host;
  const pinned = opts.ca !== undefined ? `the pinned CA ${certFingerprint(opts.ca, 'the registry CA')}` : undefined;
  const auth: Record<string, string> =
    opts.username !== undefined ? { Authorization: `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}` } : {};
  const retries = opts.retries ?? 5;

  const fail = async (res: RawResponse, what: string): Promise<never> => {
    const text = (await readAll(res.body)).toString('utf8');
    let detail = text.slice(0, 300);
    try {
      const e = JSON.parse(text).errors?.[0];
      if (e) detail = `${e.code}: ${e.message}`;
    } catch {
      // not JSON; keep the text
    }
    throw new OciClientError(`${what}: HTTP ${res.status} ${detail}`, res.status);
  };

  /** Network errors (no status) and 429/5xx are worth another try; an abort or a certificate that does not verify never is. */
  const retryable = (err: unknown, n: number, signal?: AbortSignal) => {
    const status = (err as OciClientError).status;
    return !signal?.aborted && n < retries && (status === undefined || RETRYABLE.has(status)) && tlsVerifyCode(err) === undefined && !answeredInPlainHttp(err);
  };

  /** rawRequest with the registry's CA for its own host; a certificate that does not verify becomes a clear OciClientError. */
  const request = async (target: string, init: Parameters<typeof rawRequest>[1]): Promise<RawResponse> => {
    const u = new URL(target);
    const own = u.host === registryHost;
    try {
      return await rawRequest(target, own && opts.ca !== undefined ? { ...init, ca: opts.ca } : init);
    } catch (err) {
      const why = untrustedCertificateReason(err, u.hostname, (own && pinned) || 'a CA this machine trusts');
      if (why) throw new OciClientError(`cannot trust the registry at ${u.origin}: ${why}`, undefined, { cause: err });
      if (u.protocol === 'https:' && answeredInPlainHttp(err)) {
        throw new OciClientError(`the registry at ${u.host} answered in plain HTTP, not HTTPS; if it serves plain HTTP, say so (reef push/pull --plain-http)`, undefined, { cause: err });
      }
      throw err;
    }
  };
  const backoff = (n: number) => new Promise((r) => setTimeout(r, Math.min(30_000, 250 * 2 ** n)));

  /** Retries network errors and 429/5xx with exponential backoff. */
  const withRetry = async <T>(what: string, attempt: (n: number) => Promise<T>, signal?: AbortSignal): Promise<T> => {
    for (let n = 0; ; n++) {
      try {
        return await attempt(n);
      } catch (err) {
        if (!retryable(err, n, signal)) throw err;
        await backoff(n);
      }
    }
  };

  const url = (path: string) => (/^https?:\/\//.test(path) ? path : `${base}${path}`);

  /**
   * A GET that follows redirects (registries that keep blobs in object storage answer 307 with
   * a signed URL), dropping the registry's Authorization when the host changes.
   */
  const getFollowing = async (first: string, headers: Record<string, string>, signal?: AbortSignal): Promise<RawResponse> => {
    let target = first;
    for (let hops = 0; ; hops++) {
      const sameHost = new URL(target).host === new URL(first).host;
      const res = await request(target, { method: 'GET', headers: { ...(sameHost ? auth : {}), ...headers }, timeoutMs: 60_000, signal });
      const location = res.headers.location;
      if (res.status < 300 || res.status >= 400 || res.status === 304 || !location || hops >= 5) return res;
      res.body.resume();
      target = new URL(String(location), target).toString();
    }
  };

  return {
    async blobExists(repo: string, digest: string): Promise<boolean> {
      const res = await request(url(`/v2/${repo}/blobs/${digest}`), { method: 'HEAD', headers: auth });
      res.body.resume();
      if (res.status === 200) return true;
      if (res.status === 404) return false;
      return fail(res, `HEAD blob ${digest}`);
    },

    /** Uploads a file as blob `digest`, resuming from the registry's offset after a drop. */
    async pushFile(repo: string, file: string, digest: string): Promise<void> {
      const size = (await stat(file)).size;
      if (await this.blobExists(repo, digest)) {
        opts.onProgress?.(size, size);
        return;
      }
      const started = await request(url(`/v2/${repo}/blobs/uploads/`), { method: 'POST', headers: { ...auth, 'Content-Length': '0' } });
      started.body.resume();
      if (started.status !== 202) await fail(started, 'start upload');
      let location = url(String(started.headers.location));
      let offset = 0;
      await withRetry('upload', async (n) => {
        if (n > 0) {
          const st = await request(location, { method: 'GET', headers: auth });
          st.body.resume();
          if (st.status !== 204) await fail(st, 'upload status');
          const end = /^0-(\d+)$/.exec(String(st.headers.range ?? ''));
          offset = end && Number(end[1]) > 0 ? Number(end[1]) + 1 : 0;
          if (st.headers.location) location = url(String(st.headers.location));
        }
        if (offset >= size && size > 0) return;
        const progress = new Transform({
          transform(chunk: Buffer, _e, cb) {
            offset += chunk.length;
            opts.onProgress?.(offset, size);
            cb(null, chunk);
          },
        });
        const body = createReadStream(file, { start: offset, highWaterMark: 1024 * 1024 }).pipe(progress);
        const res = await request(location, {
          method: 'PATCH',
          headers: { ...auth, 'Content-Type': 'application/octet-stream', 'Content-Length': String(size - offset), ...(size > 0 ? { 'Content-Range': `${offset}-${size - 1}` } : {}) },
          body,
        });
        res.body.resume();
        if (res.status !== 202) await fail(res, 'upload chunk');
        if (res.headers.location) location = url(String(res.headers.location));
      });
      const sep = location.includes('?') ? '&' : '?';
      const done = await request(`${location}${sep}digest=${encodeURIComponent(digest)}`, { method: 'PUT', headers: { ...auth, 'Content-Length': '0' } });
      done.body.resume();
      if (done.status !== 201) await fail(done, 'finish upload');
    },

    async pushBytes(repo: string, bytes: Buffer, digest: string): Promise<void> {
      if (await this.blobExists(repo, digest)) return;
      const res = await request(url(`/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`), {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
        body: bytes,
      });
      res.body.resume();
      if (res.status !== 201) await fail(res, `push blob ${digest}`);
    },

    async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
      return withRetry('manifest', async () => {
        const res = await request(url(`/v2/${repo}/manifests/${reference}`), {
          method: 'PUT',
          headers: { ...auth, 'Content-Type': mediaType, 'Content-Length': String(bytes.length) },
          body: bytes,
        });
        res.body.resume();
        if (res.status !== 201) await fail(res, `push manifest ${repo}:${reference}`);
        return String(res.headers['docker-content-digest'] ?? '');
      });
    },

    /** GET a manifest by tag or digest; fetched by digest, the bytes must hash to it. */
    async getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
      const byDigest = reference.includes(':');
      const algorithm = byDigest ? reference.slice(0, reference.indexOf(':')) : 'sha256';
      return withRetry(
        'manifest',
        async () => {
          const res = await request(url(`/v2/${repo}/manifests/${reference}`), { method: 'GET', headers: { ...auth, Accept: MANIFEST_ACCEPT }, signal });
          if (res.status !== 200) await fail(res, `get manifest ${repo}${byDigest ? '@' : ':'}${reference}`);
          const bytes = await readAll(res.body);
          const digest = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
          if (byDigest && digest !== reference) throw new OciClientError(`manifest ${repo}@${reference}: content hashes to ${digest}`, 400);
          return { bytes, mediaType: String(res.headers['content-type'] ?? ''), digest };
        },
        signal,
      );
    },

    /** All tags of a repository (following `Link` pages); none when the repository is unknown. */
    async listTags(repo: string): Promise<string[]> {
      const tags: string[] = [];
      let next: string | undefined = `/v2/${repo}/tags/list?n=1000`;
      while (next) {
        const page: string = next;
        const res: RawResponse = await withRetry('tags', () => request(url(page), { method: 'GET', headers: auth }));
        if (res.status === 404) {
          res.body.resume();
          return tags;
        }
        if (res.status !== 200) await fail(res, `list tags of ${repo}`);
        tags.push(...((JSON.parse((await readAll(res.body)).toString('utf8')) as { tags?: string[] | null }).tags ?? []));
        next = /<([^>]+)>;\s*rel="?next"?/.exec(String(res.headers.link ?? ''))?.[1];
      }
      return tags;
    },

    /**
     * Streams blob `digest` of `size` bytes: yields chunks as they arrive, resumes with a Range
     * request after a drop (skipping what a server that ignores Range sends again), and throws
     * once the last chunk is out if the bytes do not hash to the digest. A consumer must treat
     * what it received as unverified until the iteration ends without an error.
     */
    async *blobChunks(repo: string, digest: string, size: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
      const [algorithm, hex] = digest.split(':') as [string, string];
      const hash = createHash(algorithm);
      let received = 0;
      for (let n = 0; ; n++) {
        try {
          const res = await getFollowing(url(`/v2/${repo}/blobs/${digest}`), received > 0 ? { Range: `bytes=${received}-` } : {}, signal);
          if (res.status !== 200 && res.status !== 206) await fail(res, `get blob ${digest}`);
          let skip = received > 0 && res.status === 200 ? received : 0;
          for await (const data of res.body) {
            let chunk = data as Buffer;
            if (skip > 0) {
              const cut = Math.min(skip, chunk.length);
              skip -= cut;
              chunk = chunk.subarray(cut);
              if (chunk.length === 0) continue;
            }
            if (received + chunk.length > size) throw new OciClientError(`blob ${digest} is longer than the ${size} bytes its descriptor gives`, 400);
            hash.update(chunk);
            received += chunk.length;
            opts.onProgress?.(received, size);
            yield chunk;
          }
          if (received < size) throw new OciClientError(`connection closed at ${received} of ${size} bytes of blob ${digest}`);
          break;
        } catch (err) {
          if (!retryable(err, n, signal)) throw err;
          await backoff(n);
        }
      }
      const got = hash.digest('hex');
      if (got !== hex) throw new OciClientError(`digest mismatch for blob ${digest}: content hashes to ${algorithm}:${got}`, 400);
    },

    /**
     * The push-style twin of blobChunks for big blobs: over plain HTTP the body is read into one
     * reused buffer (raw-get.ts: no garbage per read) and each chunk goes to `onData`, which
     * returns a promise while it still holds the chunk's bytes; resumes with Range after a drop
     * and throws at the end if the bytes do not hash to `digest`. Over HTTPS it iterates
     * blobChunks. An error thrown by `onData` ends the download at once (never retried).
     */
    async blobPush(repo: string, digest: string, size: number, onData: OnBody, signal?: AbortSignal): Promise<void> {
      const target = new URL(url(`/v2/${repo}/blobs/${digest}`));
      if (target.protocol !== 'http:') {
        for await (const chunk of this.blobChunks(repo, digest, size, signal)) await onData(chunk);
        return;
      }
      const [algorithm, hex] = digest.split(':') as [string, string];
      const hash = createHash(algorithm);
      let received = 0;
      let consumerError: unknown;
      for (let n = 0; ; n++) {
        let skip = 0;
        try {
          const res = await rawGet(
            target,
            { ...auth, ...(received > 0 ? { Range: `bytes=${received}-` } : {}) },
            (chunk): Promise<void> | undefined => {
              if (skip > 0) {
                const cut = Math.min(skip, chunk.length);
                skip -= cut;
                chunk = chunk.subarray(cut);
                if (chunk.length === 0) return undefined;
              }
              if (received + chunk.length > size) throw new OciClientError(`blob ${digest} is longer than the ${size} bytes its descriptor gives`, 400);
              hash.update(chunk);
              received += chunk.length;
              opts.onProgress?.(received, size);
              return onData(chunk);
            },
            {
              timeoutMs: 60_000,
              ...(signal ? { signal } : {}),
              // A server that ignores Range answers 200 with the whole blob again.
              onStatus: (status) => (skip = status === 200 ? received : 0),
            },
          ).catch((err: unknown) => {
            if (err instanceof ConsumerError) consumerError = err.inner;
            if (err instanceof UnsupportedFraming && received === 0) return FALLBACK;
            throw err;
          });
          if (typeof res !== 'symbol' && res.status >= 300 && res.status < 400 && res.headers.location && received === 0) {
            // Redirected to object storage: the regular client follows it.
            for await (const chunk of this.blobChunks(repo, digest, size, signal)) await onData(chunk);
            return;
          }
          if (typeof res === 'symbol') {
            // A chunked blob (some proxies): the regular client reads it.
            for await (const chunk of this.blobChunks(repo, digest, size, signal)) await onData(chunk);
            return;
          }
          if (res.status !== 200 && res.status !== 206) {
            let detail = (res.errorBody ?? '').slice(0, 300);
            try {
              const e = JSON.parse(res.errorBody ?? '').errors?.[0];
              if (e) detail = `${e.code}: ${e.message}`;
            } catch {
              // not JSON; keep the text
            }
            throw new OciClientError(`get blob ${digest}: HTTP ${res.status} ${detail}`, res.status);
          }
          if (received < size) throw new OciClientError(`connection closed at ${received} of ${size} bytes of blob ${digest}`);
          break;
        } catch (err) {
          if (consumerError !== undefined) throw consumerError;
          if (!retryable(err, n, signal)) throw err;
          await backoff(n);
        }
      }
      const got = hash.digest('hex');
      if (got !== hex) throw new OciClientError(`digest mismatch for blob ${digest}: content hashes to ${algorithm}:${got}`, 400);
    },

    /**
     * Downloads blob `digest` to `file`, verifying the digest while writing; after a dropped
     * connection it resumes with a Range request (see blobChunks).
     */
    async pullToFile(repo: string, digest: string, size: number, file: string): Promise<void> {
      const out = createWriteStream(file);
      await pipeline(Readable.from(this.blobChunks(repo, digest, size)), out);
    },
  };
};
export type OciClient = ReturnType<typeof createOciClient>;
