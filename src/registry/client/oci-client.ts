import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readAll, rawRequest, type RawResponse } from './http.js';
import { isLoopback } from './reference.js';

export interface ClientOptions {
  registry: string;
  plainHttp?: boolean;
  username?: string;
  password?: string;
  retries?: number;
  onProgress?: (done: number, total: number) => void;
}

export class OciClientError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
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
  const scheme = opts.plainHttp ?? isLoopback(opts.registry) ? 'http' : 'https';
  const base = `${scheme}://${opts.registry}`;
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

  /** Retries network errors and 429/5xx with exponential backoff. */
  const withRetry = async <T>(what: string, attempt: (n: number) => Promise<T>): Promise<T> => {
    for (let n = 0; ; n++) {
      try {
        return await attempt(n);
      } catch (err) {
        const status = (err as OciClientError).status;
        const retryable = status === undefined || RETRYABLE.has(status);
        if (!retryable || n >= retries) throw err;
        await new Promise((r) => setTimeout(r, Math.min(30_000, 250 * 2 ** n)));
      }
    }
  };

  const url = (path: string) => (/^https?:\/\//.test(path) ? path : `${base}${path}`);

  return {
    async blobExists(repo: string, digest: string): Promise<boolean> {
      const res = await rawRequest(url(`/v2/${repo}/blobs/${digest}`), { method: 'HEAD', headers: auth });
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
      const started = await rawRequest(url(`/v2/${repo}/blobs/uploads/`), { method: 'POST', headers: { ...auth, 'Content-Length': '0' } });
      started.body.resume();
      if (started.status !== 202) await fail(started, 'start upload');
      let location = url(String(started.headers.location));
      let offset = 0;
      await withRetry('upload', async (n) => {
        if (n > 0) {
          const st = await rawRequest(location, { method: 'GET', headers: auth });
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
        const res = await rawRequest(location, {
          method: 'PATCH',
          headers: { ...auth, 'Content-Type': 'application/octet-stream', 'Content-Length': String(size - offset), ...(size > 0 ? { 'Content-Range': `${offset}-${size - 1}` } : {}) },
          body,
        });
        res.body.resume();
        if (res.status !== 202) await fail(res, 'upload chunk');
        if (res.headers.location) location = url(String(res.headers.location));
      });
      const sep = location.includes('?') ? '&' : '?';
      const done = await rawRequest(`${location}${sep}digest=${encodeURIComponent(digest)}`, { method: 'PUT', headers: { ...auth, 'Content-Length': '0' } });
      done.body.resume();
      if (done.status !== 201) await fail(done, 'finish upload');
    },

    async pushBytes(repo: string, bytes: Buffer, digest: string): Promise<void> {
      if (await this.blobExists(repo, digest)) return;
      const res = await rawRequest(url(`/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`), {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
        body: bytes,
      });
      res.body.resume();
      if (res.status !== 201) await fail(res, `push blob ${digest}`);
    },

    async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
      return withRetry('manifest', async () => {
        const res = await rawRequest(url(`/v2/${repo}/manifests/${reference}`), {
          method: 'PUT',
          headers: { ...auth, 'Content-Type': mediaType, 'Content-Length': String(bytes.length) },
          body: bytes,
        });
        res.body.resume();
        if (res.status !== 201) await fail(res, `push manifest ${repo}:${reference}`);
        return String(res.headers['docker-content-digest'] ?? '');
      });
    },

    async getManifest(repo: string, reference: string): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
      return withRetry('manifest', async () => {
        const res = await rawRequest(url(`/v2/${repo}/manifests/${reference}`), { method: 'GET', headers: { ...auth, Accept: MANIFEST_ACCEPT } });
        if (res.status !== 200) await fail(res, `get manifest ${repo}:${reference}`);
        const bytes = await readAll(res.body);
        const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
        return { bytes, mediaType: String(res.headers['content-type'] ?? ''), digest };
      });
    },

    /**
     * Streams blob `digest` as it arrives, hashing every byte; after a dropped connection or a
     * retryable status it asks again with `Range: bytes=<received>-` and carries on, so the
     * caller sees one continuous stream. Throws at the end when the content does not hash to
     * `digest` (the caller must treat everything it consumed as untrusted until then).
     * `resumeFrom` continues a download whose first bytes the caller already has.
     */
    async *blobChunks(repo: string, digest: string, size: number, resumeFrom?: { offset: number; hash: Hash }): AsyncGenerator<Buffer> {
      const algorithm = digest.split(':')[0]!;
      const hash = resumeFrom?.hash ?? createHash(algorithm);
      let received = resumeFrom?.offset ?? 0;
      for (let n = 0; ; n++) {
        try {
          const res = await rawRequest(url(`/v2/${repo}/blobs/${digest}`), { method: 'GET', headers: { ...auth, ...(received > 0 ? { Range: `bytes=${received}-` } : {}) } });
          if (res.status !== 200 && res.status !== 206) await fail(res, `get blob ${digest}`);
          if (received > 0 && res.status === 200) {
            res.body.destroy();
            throw new OciClientError(`get blob ${digest}: the registry ignored Range after ${received} bytes; cannot resume`, 416);
          }
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            hash.update(chunk);
            received += chunk.length;
            opts.onProgress?.(received, size);
            yield chunk;
          }
          if (received < size) throw new OciClientError(`connection closed at ${received} of ${size} bytes`);
          break;
        } catch (err) {
          const status = (err as OciClientError).status;
          if ((status !== undefined && !RETRYABLE.has(status)) || n >= retries) throw err;
          await new Promise((r) => setTimeout(r, Math.min(30_000, 250 * 2 ** n)));
        }
      }
      const got = `${algorithm}:${hash.digest('hex')}`;
      if (received !== size || got !== digest) {
        throw new OciClientError(`digest mismatch for ${digest}: ${received} bytes received (expected ${size}), content hashes to ${got}`, 400);
      }
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
