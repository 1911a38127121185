import { PassThrough, type Readable } from 'node:stream';
import { Hono, type Context } from 'hono';
import { bodyStream, readBytes } from '../../http/body.js';
import type { AppEnv } from '../../http/env.js';
import { sendFile } from '../../http/send-file.js';
import { setIdleTimeout, setLongInterval } from '../../lib/long-timer.js';
import { type SpaceReserve, withSpaceReserve } from '../../lib/space-reserve.js';
import { isDigest } from '../core/digest.js';
import { RegistryError } from '../core/errors.js';
import type { ScrubReport } from '../scrub.js';
import type { GcReport } from '../gc.js';
import type { RegistryService } from '../registry-service.js';
import type { BlobStore } from '../storage/blob-store.fs.js';
import type { Uploads } from '../uploads.js';
import { jsonAnswer } from '../../http/json-answer.js';
import { registryErrorHandler } from './errors.js';

const API_VERSION = { 'Docker-Distribution-API-Version': 'registry/2.0' };
const MANIFEST_LIMIT = 4 * 1024 * 1024;
/** An upload request receiving less than this in REGISTRY_UPLOAD_STALL is a trickle, and is cut. */
const STALL_BYTES = 1024;

const hasBody = (c: Context<AppEnv>) => {
  const len = c.req.header('content-length');
  return (len !== undefined && len !== '0') || c.req.header('transfer-encoding') !== undefined;
};

/**
 * A chunked body (no Content-Length) under a Content-Range goes through a stream of its own, so
 * that the upload, stopping it at the first byte past the range, destroys that stream and not the
 * request's socket: the client gets its 416 and Node drains the rest. Only this rare case pays
 * for the extra stream.
 */
const rangeLimited = (c: Context<AppEnv>, range: { start: number; end: number } | undefined): Readable => {
  const body = bodyStream(c);
  if (!range || c.req.header('content-length') !== undefined) return body;
  c.header('Connection', 'close');
  return body.pipe(new PassThrough());
};

/** The chunk's Content-Range; a Content-Length that disagrees with it is refused before a byte is read. */
const contentRange = (c: Context<AppEnv>) => {
  const header = c.req.header('content-range');
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/\d+|\/\*)?$/.exec(header.trim());
  if (!m || Number(m[2]) < Number(m[1])) throw new RegistryError('BLOB_UPLOAD_INVALID', `bad Content-Range ${JSON.stringify(header)}`, { status: 416 });
  const range = { start: Number(m[1]), end: Number(m[2]) };
  const length = c.req.header('content-length');
  if (length !== undefined && Number(length) !== range.end - range.start + 1) {
    throw new RegistryError('SIZE_INVALID', `Content-Range ${header} is ${range.end - range.start + 1} bytes, Content-Length is ${length}`, { status: 416 });
  }
  return range;
};

const link = (path: string, n: number, last: string) => `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;

// Routes by suffix; the repository name in front may itself contain slashes.
const ROUTES: [RegExp, string][] = [
  [/^\/v2\/?$/, 'ping'],
  [/^\/v2\/_catalog$/, 'catalog'],
  [/^\/v2\/(.+)\/tags\/list$/, 'tags'],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, 'manifest'],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, 'uploads'],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, 'upload'],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, 'blob'],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, 'referrers'],
];

export interface RegistryHttpDeps {
  registry: RegistryService;
  uploads: Uploads;
  store: BlobStore;
  /** One GC run (or dry run), recorded and counted (wire.ts). */
  runGc: (dryRun: boolean) => Promise<GcReport>;
  uploadTimeoutMs: number;
  /** Under STALL_BYTES received in this long, an upload request is cut (REGISTRY_UPLOAD_STALL; 0 = never). */
  uploadStallMs: number;
  downloadTimeoutMs: number;
  /** Space held back on the data disk for deletions and GC once it is full. */
  reserve?: SpaceReserve;
  /** Runs (or joins) a scrub and reports it. */
  scrub: () => Promise<ScrubReport>;
}

export const createRegistryRoutes = (d: RegistryHttpDeps) => {
  const { registry, uploads } = d;
  const uploadLocation = (repo: string, id: string) => `/v2/${repo}/blobs/uploads/${id}`;

  /**
   * An upload that makes no progress for REGISTRY_UPLOAD_TIMEOUT is cut (an inactivity limit,
   * so a 10 GiB WIM over a slow but live link is never cut for being long), and so is one that
   * trickles: under 1 KiB in REGISTRY_UPLOAD_STALL. Either way its upload slot is freed.
   */
  const withUploadTimeout = async <T>(c: Context<AppEnv>, work: () => Promise<T>): Promise<T> => {
    const socket = c.env?.incoming?.socket;
    const cut = (why: string) => c.env?.incoming?.destroy(new Error(why));
    const stop = socket ? setIdleTimeout(socket, d.uploadTimeoutMs, () => cut('upload stalled')) : undefined;
    let seen = socket?.bytesRead ?? 0;
    const watch =
      socket && d.uploadStallMs > 0
        ? setLongInterval(() => {
            // It polices the body's arrival only: once the body is in, the server's own work
            // (re-hashing a big upload, fsync, the digest lock) may take as long as it takes.
            const arrived = c.env?.incoming?.complete === true;
            if (!arrived && socket.bytesRead - seen < STALL_BYTES) cut(`upload slower than ${STALL_BYTES} bytes in ${d.uploadStallMs} ms`);
            seen = socket.bytesRead;
          }, d.uploadStallMs)
        : undefined;
    try {
      return await work();
    } finally {
      watch?.clear();
      stop?.();
      socket?.setTimeout(0);
    }
  };

  const handle = async (c: Context<AppEnv>, route: string, m: RegExpExecArray): Promise<Response> => {
    const method = c.req.method;
    const repo = m[1] ?? '';
    if (route !== 'ping' && route !== 'catalog') registry.checkName(repo);
    switch (`${route} ${method}`) {
      case 'ping GET':
      case 'ping HEAD':
        return jsonAnswer(c, {}, 200, API_VERSION);
      case 'catalog GET': {
        const n = c.req.query('n');
        const page = registry.catalog(n, c.req.query('last'));
        if (page.next) c.header('Link', link('/v2/_catalog', Number(n), page.next));
        return jsonAnswer(c, { repositories: page.items }, 200);
      }
      case 'tags GET': {
        const n = c.req.query('n');
        const page = registry.tags(repo, n, c.req.query('last'));
        if (page.next) c.header('Link', link(`/v2/${repo}/tags/list`, Number(n), page.next));
        return jsonAnswer(c, { name: repo, tags: page.items }, 200);
      }
      case 'manifest GET':
      case 'manifest HEAD': {
        const ref = m[2]!;
        if (method === 'HEAD') {
          const row = await registry.manifestHead(repo, ref);
          return c.body(null, 200, { 'Content-Type': row.mediaType, 'Content-Length': String(row.size), 'Docker-Content-Digest': row.digest, ETag: `"${row.digest}"` });
        }
        const { row, bytes } = await registry.manifest(repo, ref);
        return c.body(new Uint8Array(bytes), 200, { 'Content-Type': row.mediaType, 'Docker-Content-Digest': row.digest, ETag: `"${row.digest}"` });
      }
      case 'manifest PUT': {
        // Cut at the limit as it arrives, Content-Length or not: never buffered past it.
        const bytes = await readBytes(c, MANIFEST_LIMIT, {
          tooLarge: () => new RegistryError('MANIFEST_INVALID', `manifest larger than ${MANIFEST_LIMIT} bytes`, { status: 413 }),
          timeout: (ms) => new RegistryError('MANIFEST_INVALID', `the manifest did not arrive within ${Math.round(ms / 1000)} s (REEF_BODY_TIMEOUT)`, { status: 408 }),
        });
        const tagParams = isDigest(m[2]!) ? (c.req.queries('tag') ?? []) : [];
        const { digest, subject, tags } = await registry.putManifest(repo, m[2]!, bytes, c.req.header('content-type'), tagParams);
        const headers: Record<string, string> = { Location: `/v2/${repo}/manifests/${digest}`, 'Docker-Content-Digest': digest };
        if (subject) headers['OCI-Subject'] = subject;
        // Every tag set, as the spec asks when a push by digest carries ?tag= parameters.
        if (tagParams.length) headers['OCI-Tag'] = tags.join(', ');
        return c.body(null, 201, headers);
      }
      // Deletions free space, so on a full disk they use the reserve for their own database writes.
      case 'manifest DELETE':
        await withSpaceReserve(d.reserve, () => registry.deleteManifest(repo, m[2]!));
        return c.body(null, 202);
      case 'blob GET':
      case 'blob HEAD': {
        const digest = m[2]!;
        registry.blob(repo, digest);
        const res = await sendFile(c, d.store.blobPath(digest), {
          contentType: 'application/octet-stream',
          etag: `"${digest}"`,
          headers: { 'Docker-Content-Digest': digest, ...API_VERSION },
          timeoutMs: d.downloadTimeoutMs,
        });
        if (!res) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is missing from storage`);
        return res;
      }
      case 'blob DELETE':
        await withSpaceReserve(d.reserve, () => registry.deleteBlob(repo, m[2]!));
        return c.body(null, 202, { 'Docker-Content-Digest': m[2]! });
      case 'uploads POST': {
        const mount = c.req.query('mount');
        const digest = c.req.query('digest');
        if (mount !== undefined && (await registry.mount(repo, mount, c.req.query('from')))) {
          return c.body(null, 201, { Location: `/v2/${repo}/blobs/${mount}`, 'Docker-Content-Digest': mount });
        }
        if (digest !== undefined) {
          const done = await withUploadTimeout(c, () => uploads.monolithic(repo, digest, bodyStream(c)));
          return c.body(null, 201, { Location: `/v2/${repo}/blobs/${done.digest}`, 'Docker-Content-Digest': done.digest });
        }
        const id = await uploads.start(repo);
        return c.body(null, 202, { Location: uploadLocation(repo, id), 'Docker-Upload-UUID': id, Range: '0-0', 'Content-Length': '0' });
      }
      case 'upload GET': {
        const id = m[2]!;
        const offset = await uploads.status(repo, id);
        return c.body(null, 204, { Location: uploadLocation(repo, id), 'Docker-Upload-UUID': id, Range: `0-${Math.max(0, offset - 1)}` });
      }
      case 'upload PATCH': {
        const id = m[2]!;
        const range = contentRange(c);
        const offset = await withUploadTimeout(c, () => uploads.patch(repo, id, range, rangeLimited(c, range)));
        return c.body(null, 202, { Location: uploadLocation(repo, id), 'Docker-Upload-UUID': id, Range: `0-${Math.max(0, offset - 1)}`, 'Content-Length': '0' });
      }
      case 'upload PUT': {
        const id = m[2]!;
        const digest = c.req.query('digest');
        if (!digest) throw new RegistryError('DIGEST_INVALID', 'PUT needs ?digest=<digest> to complete the upload');
        const body = hasBody(c);
        const range = body ? contentRange(c) : undefined;
        const done = await withUploadTimeout(c, () => uploads.complete(repo, id, digest, body ? rangeLimited(c, range) : undefined, range));
        return c.body(null, 201, { Location: `/v2/${repo}/blobs/${done.digest}`, 'Docker-Content-Digest': done.digest, 'Content-Length': '0' });
      }
      case 'upload DELETE':
        await withSpaceReserve(d.reserve, () => uploads.cancel(repo, m[2]!));
        return c.body(null, 204);
      case 'referrers GET': {
        const artifactType = c.req.query('artifactType');
        const index = registry.referrers(repo, m[2]!, artifactType);
        if (artifactType !== undefined) c.header('OCI-Filters-Applied', 'artifactType');
        return c.body(JSON.stringify(index), 200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json' });
      }
      default:
        throw new RegistryError('UNSUPPORTED', `${method} is not supported on ${c.req.path}`, { status: 405 });
    }
  };

  const app = new Hono<AppEnv>();
  app.all('/v2', (c) => jsonAnswer(c, {}, 200, API_VERSION));
  app.all('/v2/*', async (c) => {
    c.header('Docker-Distribution-API-Version', 'registry/2.0');
    for (const [re, route] of ROUTES) {
      const m = re.exec(c.req.path);
      if (m) return handle(c, route, m);
    }
    throw new RegistryError('UNSUPPORTED', `no registry route for ${c.req.path}`, { status: 404 });
  });
  app.onError(registryErrorHandler);
  return app;
};

export const createAdminRoutes = (d: Pick<RegistryHttpDeps, 'runGc' | 'scrub'>) =>
  new Hono<AppEnv>()
    .post('/gc', async (c) => c.json(await d.runGc(c.req.query('dry_run') === 'true')))
    // Re-hashes every blob now (at REGISTRY_SCRUB_RATE) and answers with the report.
    .post('/scrub', async (c) => c.json(await d.scrub()));
