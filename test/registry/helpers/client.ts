/**
 * A small OCI distribution client for the conformance tests: every step asserts the status and
 * headers the distribution spec (v1.1) requires, so a helper call is itself a check.
 */
import { expect } from 'vitest';
import {
  type Blob,
  configBlob,
  type Descriptor,
  descriptorOf,
  imageManifest,
  type Manifest,
  MT,
  randomBlob,
  sha256,
} from './oci.js';

/** fetch bound to a registry base URL (and optional Basic credentials). Accepts paths or absolute URLs. */
export type Fetch = (pathOrUrl: string, init?: RequestInit) => Promise<Response>;

export const basicAuth = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

export const client = (baseUrl: string, auth?: { user: string; pass: string }): Fetch => {
  const extra: Record<string, string> = auth ? { authorization: basicAuth(auth.user, auth.pass) } : {};
  return (pathOrUrl, init = {}) =>
    fetch(new URL(pathOrUrl, baseUrl), { ...init, headers: { ...extra, ...((init.headers as Record<string, string>) ?? {}) } });
};

/** Resolves a Location header (absolute or relative, per the spec) and sets query parameters on it. */
export const withQuery = (base: string, location: string, params: Record<string, string> = {}): string => {
  const u = new URL(location, base);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
};

export const bytesOf = async (res: Response): Promise<Buffer> => Buffer.from(await res.arrayBuffer());

/** Asserts an OCI error answer: status, JSON `{"errors":[{code,message,detail}]}`, one of `codes`. */
export const expectOciError = async (res: Response, status: number, codes: string | string[]) => {
  const text = await res.text();
  expect(res.status, `expected ${status} ${String(codes)}, got ${res.status}: ${text}`).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  const body = JSON.parse(text) as { errors: Array<{ code: string; message: string; detail: unknown }> };
  expect(Array.isArray(body.errors) && body.errors.length > 0, text).toBe(true);
  for (const e of body.errors) {
    expect(typeof e.code).toBe('string');
    expect(typeof e.message).toBe('string');
    expect(e).toHaveProperty('detail');
  }
  expect([codes].flat()).toContain(body.errors[0]!.code);
  return body;
};

const octet = (size: number) => ({ 'content-type': 'application/octet-stream', 'content-length': String(size) });

/** POST an upload session: 202 with Location and Docker-Upload-UUID. Returns the absolute Location. */
export const startUpload = async (f: Fetch, base: string, repo: string): Promise<string> => {
  const res = await f(`/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } });
  const text = await res.text();
  expect(res.status, `POST upload ${repo}: ${text}`).toBe(202);
  expect(res.headers.get('location')).toBeTruthy();
  expect(res.headers.get('docker-upload-uuid')).toBeTruthy();
  return withQuery(base, res.headers.get('location')!);
};

/** Finishes an upload session with PUT ?digest= (optionally carrying the last bytes). */
export const finishUpload = (f: Fetch, base: string, location: string, digest: string, bytes: Buffer = Buffer.alloc(0)) =>
  f(withQuery(base, location, { digest }), { method: 'PUT', headers: octet(bytes.length), body: bytes });

const expectBlobCreated = async (res: Response, repo: string, blob: Blob) => {
  const text = await res.text();
  expect(res.status, `blob ${blob.digest} in ${repo}: ${text}`).toBe(201);
  expect(res.headers.get('docker-content-digest')).toBe(blob.digest);
  expect(res.headers.get('location')).toBeTruthy();
  expect(new URL(res.headers.get('location')!, 'http://x').pathname).toBe(`/v2/${repo}/blobs/${blob.digest}`);
};

/** POST + single PUT ?digest= with the whole body. */
export const pushBlob = async (f: Fetch, base: string, repo: string, blob: Blob): Promise<Blob> => {
  const location = await startUpload(f, base, repo);
  await expectBlobCreated(await finishUpload(f, base, location, blob.digest, blob.bytes), repo, blob);
  return blob;
};

/** Single POST ?digest= carrying the body (monolithic upload). */
export const pushBlobMonolithic = async (f: Fetch, repo: string, blob: Blob): Promise<Blob> => {
  const res = await f(`/v2/${repo}/blobs/uploads/?digest=${blob.digest}`, { method: 'POST', headers: octet(blob.size), body: blob.bytes });
  await expectBlobCreated(res, repo, blob);
  return blob;
};

/** PATCH one chunk with Content-Range; returns the response (caller checks). */
export const patchChunk = (f: Fetch, location: string, start: number, chunk: Buffer) =>
  f(location, {
    method: 'PATCH',
    headers: { ...octet(chunk.length), 'content-range': `${start}-${start + chunk.length - 1}` },
    body: chunk,
  });

/** POST, PATCH chunks of `chunkSize` (each 202 with `Range: 0-<end>`), PUT ?digest=. */
export const pushBlobChunked = async (f: Fetch, base: string, repo: string, blob: Blob, chunkSize: number): Promise<Blob> => {
  let location = await startUpload(f, base, repo);
  for (let start = 0; start < blob.size; start += chunkSize) {
    const chunk = blob.bytes.subarray(start, Math.min(start + chunkSize, blob.size));
    const res = await patchChunk(f, location, start, chunk);
    const text = await res.text();
    expect(res.status, `PATCH ${start}: ${text}`).toBe(202);
    expect(res.headers.get('range')).toBe(`0-${start + chunk.length - 1}`);
    expect(res.headers.get('location')).toBeTruthy();
    location = withQuery(base, res.headers.get('location')!);
  }
  await expectBlobCreated(await finishUpload(f, base, location, blob.digest), repo, blob);
  return blob;
};

export const putManifest = (f: Fetch, repo: string, ref: string, m: Manifest, contentType = m.mediaType) =>
  f(`/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers: { 'content-type': contentType }, body: m.bytes });

/** PUT a manifest and assert 201 with Location and Docker-Content-Digest = sha256 of the bytes. */
export const pushManifest = async (f: Fetch, repo: string, ref: string, m: Manifest): Promise<Response> => {
  const res = await putManifest(f, repo, ref, m);
  const text = await res.text();
  expect(res.status, `PUT manifest ${repo}:${ref}: ${text}`).toBe(201);
  expect(res.headers.get('docker-content-digest')).toBe(m.digest);
  expect(res.headers.get('location')).toBeTruthy();
  return res;
};

export const getManifest = (f: Fetch, repo: string, ref: string, method = 'GET') =>
  f(`/v2/${repo}/manifests/${ref}`, { method, headers: { accept: [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList].join(', ') } });

/** GET a blob and assert 200 and that the body hashes to the digest. */
export const expectBlob = async (f: Fetch, repo: string, blob: { digest: string; size?: number }) => {
  const res = await f(`/v2/${repo}/blobs/${blob.digest}`);
  const body = await bytesOf(res);
  expect(res.status, `GET blob ${repo}@${blob.digest}: ${body.toString('utf8', 0, 300)}`).toBe(200);
  if (blob.digest.startsWith('sha256:')) expect(sha256(body)).toBe(blob.digest);
  if (blob.size !== undefined) expect(body.length).toBe(blob.size);
  return body;
};

/** GET a manifest and assert it comes back byte-for-byte with its media type. */
export const expectManifest = async (f: Fetch, repo: string, ref: string, m: Manifest) => {
  const res = await getManifest(f, repo, ref);
  const body = await bytesOf(res);
  expect(res.status, `GET manifest ${repo}:${ref}: ${body.toString('utf8', 0, 300)}`).toBe(200);
  expect(body.equals(m.bytes)).toBe(true);
  expect(res.headers.get('docker-content-digest')).toBe(m.digest);
  expect(res.headers.get('content-type')).toBe(m.mediaType);
};

export interface PushedImage {
  config: Blob;
  layers: Blob[];
  manifest: Manifest;
  descriptor: Descriptor;
}

/** Builds and pushes an image (unique config and `layers` random layers), tagged `ref`. */
export const pushImage = async (f: Fetch, base: string, repo: string, ref: string, layers = 2, opts: Parameters<typeof imageManifest>[2] = {}): Promise<PushedImage> => {
  const config = configBlob();
  const blobs = Array.from({ length: layers }, () => randomBlob(1024 + Math.floor(Math.random() * 4096)));
  for (const b of [config, ...blobs]) await pushBlob(f, base, repo, b);
  const manifest = imageManifest(descriptorOf(config, MT.ociConfig), blobs.map((b) => descriptorOf(b, MT.ociLayer)), opts);
  await pushManifest(f, repo, ref, manifest);
  return { config, layers: blobs, manifest, descriptor: descriptorOf(manifest, MT.ociManifest) };
};

/** Parses `Link: <url>; rel="next"`; undefined when absent. */
export const nextLink = (res: Response): string | undefined => /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];

/**
 * Follows `Link: <…>; rel="next"` from `first`, collecting `key` of each page. Checks every link
 * points at `path` with the same `n` and `last` = the page's last entry (as the spec requires).
 */
export const collectPages = async (f: Fetch, base: string, first: string, key: string): Promise<string[][]> => {
  const pages: string[][] = [];
  const n = new URL(first, base).searchParams.get('n');
  let next: string | undefined = first;
  while (next && pages.length < 20) {
    const res: Response = await f(next);
    const text = await res.text();
    expect(res.status, `GET ${next}: ${text}`).toBe(200);
    pages.push((JSON.parse(text) as Record<string, string[]>)[key]!);
    next = nextLink(res);
    if (next) {
      const u = new URL(next, base);
      expect(u.pathname).toBe(new URL(first, base).pathname);
      expect([u.searchParams.get('n'), u.searchParams.get('last')]).toEqual([n, pages.at(-1)!.at(-1)]);
    }
  }
  return pages;
};
