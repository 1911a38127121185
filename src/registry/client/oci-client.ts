import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AuthFile } from './auth-file.js';
import { blobPush, blobStream, readBlob, type ReadBlobOptions } from './blob-read.js';
import { type ByteBudget, processUploadBudget } from './byte-budget.js';
import { createBlobUploads, type MountResult, type UploadOptions } from './blob-upload.js';
import { createManifests, type FetchedManifest } from './manifests.js';
import type { OnBody } from './raw-get.js';
import type { RetryEvent } from './retry.js';
import { createTransport } from './transport.js';

export { OciClientError } from './errors.js';

export interface ClientOptions {
  /** `host[:port]`; loopback speaks plain HTTP unless `ca`, `caFile` or `tlsVerify: false` says otherwise. */
  registry: string;
  plainHttp?: boolean;
  username?: string;
  password?: string;
  /** Credentials for the registry from an auth file (loadAuthFile), when no username is given. */
  authFile?: AuthFile;
  /** Attempts after the first for 429, 5xx, timeouts and dropped connections (default 5). */
  retries?: number;
  /** Base of the exponential backoff, in ms (default 1000). */
  retryDelayMs?: number;
  /** Told of every retry (what, attempt, wait, status): for counters and logs. */
  onRetry?: (event: RetryEvent) => void;
  /** Idle timeout of a request, in ms (default 60 s). */
  timeoutMs?: number;
  /**
   * PEM of the one CA the registry's certificate must be signed by, instead of the system's
   * trust store (the controller's site CA, pinned by the agent); implies HTTPS unless plainHttp
   * says otherwise. A redirect to another host is verified against the system's trust store.
   */
  ca?: string;
  /** A file holding that PEM. */
  caFile?: string;
  /** false: HTTPS without verifying the certificate (--tls-verify=false). Default true. */
  tlsVerify?: boolean;
  /** Largest PATCH of an upload, in bytes (default 16 MiB); one is read while the previous is sent. */
  chunkSize?: number;
  /**
   * The cap on upload buffers this client's uploads count against (default: the one every client
   * of the process shares, 64 MiB): PATCH buffers wait for room, so memory stays bounded however
   * many blobs are in flight.
   */
  uploadBudget?: ByteBudget;
  onProgress?: (done: number, total: number) => void;
}

/** A small OCI distribution client: token auth, retries, streamed blob transfers with resume. */
export interface OciClient {
  /** `host[:port]` of the registry. */
  readonly registry: string;
  blobExists(repo: string, digest: string): Promise<boolean>;
  /** Uploads a file as blob `digest` (nothing to do when the registry has it). */
  pushFile(repo: string, file: string, digest: string): Promise<void>;
  pushBytes(repo: string, bytes: Buffer, digest: string): Promise<void>;
  /** Uploads `size` bytes from `source` in chunks, verified against `digest` before the final PUT. */
  uploadBlob(repo: string, digest: string, size: number, source: AsyncIterable<Buffer>, opts?: UploadOptions): Promise<void>;
  /** Cross-repository mount of `digest` from `from` into `repo`. */
  mountBlob(repo: string, digest: string, from: string): Promise<MountResult>;
  getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest>;
  headManifest(repo: string, reference: string): Promise<{ digest: string | undefined; mediaType: string; size: number } | undefined>;
  putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string>;
  listTags(repo: string, opts?: { pageSize?: number }): Promise<string[]>;
  /** The blob's bytes as they arrive, resumed after drops, digest checked at the end. */
  blobChunks(repo: string, digest: string, size: number, signal?: AbortSignal): AsyncGenerator<Buffer>;
  /** The same as a Node Readable, from `offset` (verified when read from 0). */
  blobStream(repo: string, digest: string, opts?: ReadBlobOptions): Readable;
  /** Push-style reading into one reused buffer over plain HTTP (see blob-read.ts); `checkDigest: false` leaves the hash to the consumer. */
  blobPush(repo: string, digest: string, size: number, onData: OnBody, signal?: AbortSignal, opts?: { checkDigest?: boolean }): Promise<void>;
  pullToFile(repo: string, digest: string, size: number, file: string): Promise<void>;
}

export const createOciClient = (opts: ClientOptions): OciClient => {
  const fromFile = opts.username === undefined ? opts.authFile?.credentialsFor(opts.registry) : undefined;
  const credentials = opts.username !== undefined ? { username: opts.username, password: opts.password ?? '' } : fromFile;
  const t = createTransport({
    registry: opts.registry,
    ...(opts.plainHttp !== undefined ? { plainHttp: opts.plainHttp } : {}),
    ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
    ...(opts.caFile !== undefined ? { caFile: opts.caFile } : {}),
    ...(opts.tlsVerify !== undefined ? { tlsVerify: opts.tlsVerify } : {}),
    ...(credentials ? { credentials } : {}),
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.onRetry ? { onRetry: opts.onRetry } : {}),
  });
  const uploads = createBlobUploads(t, { chunkSize: opts.chunkSize ?? 16 * 1024 * 1024, budget: opts.uploadBudget ?? processUploadBudget, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  const manifests = createManifests(t);
  const progress = opts.onProgress ? { onProgress: opts.onProgress } : {};

  return {
    registry: t.registry,
    ...uploads,
    ...manifests,
    async pushFile(repo, file, digest) {
      const size = (await stat(file)).size;
      if (await uploads.blobExists(repo, digest)) {
        opts.onProgress?.(size, size);
        return;
      }
      await uploads.uploadBlob(repo, digest, size, createReadStream(file, { highWaterMark: 1024 * 1024 }));
    },
    blobChunks: (repo, digest, size, signal) => readBlob(t, repo, digest, { size, ...(signal ? { signal } : {}), ...progress }),
    blobStream: (repo, digest, o = {}) => blobStream(t, repo, digest, o),
    blobPush: (repo, digest, size, onData, signal, opts = {}) => blobPush(t, repo, digest, size, onData, { ...(signal ? { signal } : {}), ...progress, ...opts }),
    async pullToFile(repo, digest, size, file) {
      await pipeline(blobStream(t, repo, digest, { size, ...progress }), createWriteStream(file));
    },
  };
};
