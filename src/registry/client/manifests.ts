import { createHash } from 'node:crypto';
import { isDigest } from '../core/digest.js';
import { MANIFEST_TYPES, MEDIA } from '../core/manifest.js';
import { OciClientError } from './errors.js';
import { readAll, type RawResponse } from './http.js';
import { pullScope, pushScope } from './token-auth.js';
import type { Transport } from './transport.js';

/** Every manifest type reef handles: OCI image manifest and index, Docker schema2 manifest and list. */
export const MANIFEST_ACCEPT = [MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.dockerList].join(', ');

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  /** Of the bytes, computed here (sha256 for a tag; the reference's algorithm for a digest). */
  digest: string;
}

/** The manifest's type: Content-Type when it names one, else the document's mediaType, else by its shape. */
const mediaTypeOf = (contentType: string | undefined, bytes: Buffer): string => {
  const ct = contentType?.split(';')[0]?.trim();
  if (ct && MANIFEST_TYPES.has(ct)) return ct;
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
    return Array.isArray(doc.manifests) ? MEDIA.ociIndex : MEDIA.ociManifest;
  } catch {
    return ct ?? '';
  }
};

const header = (res: RawResponse, name: string) => {
  const v = res.headers[name];
  return v === undefined ? undefined : String(v);
};

export const createManifests = (t: Transport) => ({
  /**
   * GET a manifest by tag or digest with every manifest Accept type. Fetched by digest, the bytes
   * must hash to it, and so must Docker-Content-Digest when the registry sends one.
   */
  async getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const byDigest = reference.includes(':');
    const algorithm = byDigest ? reference.slice(0, reference.indexOf(':')) : 'sha256';
    const name = `${repo}${byDigest ? '@' : ':'}${reference}`;
    return t.retrier.run(
      `get manifest ${name}`,
      async () => {
        const res = await t.send(`/v2/${repo}/manifests/${reference}`, { method: 'GET', headers: { Accept: MANIFEST_ACCEPT }, scopes: [pullScope(repo)], ...(signal ? { signal } : {}) });
        if (res.status !== 200) await t.fail(res, `get manifest ${name}`);
        const bytes = await readAll(res.body);
        const digest = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
        if (byDigest && digest !== reference) throw new OciClientError(`manifest ${name}: content hashes to ${digest}`, 400);
        const said = header(res, 'docker-content-digest');
        if (said && said.startsWith(`${algorithm}:`) && said !== digest) {
          throw new OciClientError(`manifest ${name}: the registry says Docker-Content-Digest ${said}, the content hashes to ${digest}`, 400);
        }
        return { bytes, mediaType: mediaTypeOf(header(res, 'content-type'), bytes), digest };
      },
      signal,
    );
  },

  /** HEAD a manifest: its digest (Docker-Content-Digest), type and size, or undefined when the registry has none. */
  async headManifest(repo: string, reference: string): Promise<{ digest: string | undefined; mediaType: string; size: number } | undefined> {
    return t.retrier.run(`HEAD manifest ${repo}:${reference}`, async () => {
      const res = await t.send(`/v2/${repo}/manifests/${reference}`, { method: 'HEAD', headers: { Accept: MANIFEST_ACCEPT }, scopes: [pullScope(repo)] });
      res.body.resume();
      if (res.status === 404) return undefined;
      if (res.status !== 200) return t.fail(res, `HEAD manifest ${repo}:${reference}`);
      return { digest: header(res, 'docker-content-digest'), mediaType: header(res, 'content-type') ?? '', size: Number(header(res, 'content-length') ?? 0) };
    });
  },

  /** PUT a manifest by tag or digest; returns its digest (the registry's, else sha256 of the bytes). */
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    return t.retrier.run(`push manifest ${repo}:${reference}`, async () => {
      const res = await t.send(`/v2/${repo}/manifests/${reference}`, {
        method: 'PUT',
        headers: { 'Content-Type': mediaType, 'Content-Length': String(bytes.length) },
        body: bytes,
        scopes: [pushScope(repo)],
        timeoutMs: 600_000,
      });
      res.body.resume();
      if (res.status !== 201) await t.fail(res, `push manifest ${repo}:${reference}`);
      return header(res, 'docker-content-digest') || `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    });
  },

  /** All tags of a repository, page by page (`n`, then each `Link: <…>; rel="next"`); none when the repository is unknown. */
  async listTags(repo: string, o: { pageSize?: number } = {}): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `/v2/${repo}/tags/list?n=${o.pageSize ?? 1000}`;
    while (next) {
      const page: string = next;
      const doc = await t.retrier.run(`list tags of ${repo}`, async () => {
        const res = await t.send(page, { method: 'GET', scopes: [pullScope(repo)] });
        if (res.status === 404) {
          res.body.resume();
          return undefined;
        }
        if (res.status !== 200) await t.fail(res, `list tags of ${repo}`);
        const text = (await readAll(res.body)).toString('utf8');
        try {
          return { tags: (JSON.parse(text) as { tags?: string[] | null }).tags ?? [], link: header(res, 'link') };
        } catch {
          throw new OciClientError(`list tags of ${repo}: the answer is not JSON`, 502);
        }
      });
      if (!doc) return tags;
      tags.push(...doc.tags);
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(doc.link ?? '')?.[1];
      next = link === undefined ? undefined : new URL(link, t.url(page)).toString();
    }
    return tags;
  },
});

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface IndexEntry {
  mediaType: string;
  digest: string;
  size: number;
  /** Absent in entries that are no image for a platform (some attestation manifests). */
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** The entries of an image index or manifest list, checked: each a digest, a size and, when given, a platform. */
export const platformsOf = (indexBytes: Uint8Array | string): IndexEntry[] => {
  let doc: { manifests?: unknown };
  try {
    doc = JSON.parse(typeof indexBytes === 'string' ? indexBytes : Buffer.from(indexBytes).toString('utf8'));
  } catch {
    throw new Error('the index is not JSON');
  }
  if (!doc || !Array.isArray(doc.manifests)) throw new Error('not an image index or manifest list (no "manifests" array)');
  return doc.manifests.map((m: unknown, i: number) => {
    const e = (m ?? {}) as Record<string, unknown>;
    if (typeof e.digest !== 'string' || !isDigest(e.digest)) throw new Error(`manifests[${i}].digest is not a digest`);
    if (typeof e.size !== 'number' || !Number.isSafeInteger(e.size) || e.size < 0) throw new Error(`manifests[${i}].size is not a size`);
    const p = e.platform as Record<string, unknown> | undefined;
    const platform =
      p && typeof p.architecture === 'string' && typeof p.os === 'string'
        ? { os: p.os, architecture: p.architecture, ...(typeof p.variant === 'string' ? { variant: p.variant } : {}) }
        : undefined;
    return {
      mediaType: typeof e.mediaType === 'string' ? e.mediaType : '',
      digest: e.digest,
      size: e.size,
      ...(platform ? { platform } : {}),
      ...(e.annotations && typeof e.annotations === 'object' ? { annotations: e.annotations as Record<string, string> } : {}),
    };
  });
};

/** uname names for the OCI ones. */
const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64' };

/**
 * The entries to mirror for `architectures` (the ImageSetConfiguration's
 * `mirror.platform.architectures`, e.g. ['amd64', 'arm64']): 'multi' keeps every entry (the
 * index stays whole, so its digest does too); otherwise the entries for those architectures.
 */
export const selectPlatforms = (entries: IndexEntry[], architectures: readonly string[]): IndexEntry[] => {
  const wanted = new Set(architectures.map((a) => ARCH_ALIASES[a] ?? a));
  if (wanted.has('multi')) return entries;
  return entries.filter((e) => e.platform !== undefined && wanted.has(e.platform.architecture));
};
