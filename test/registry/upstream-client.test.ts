/**
 * The upstream client the mirror engine uses, against real servers on 127.0.0.1: Debian's
 * docker-registry (a reef when it is missing) behind a token front that issues 2-second tokens
 * for one user of an auth file, injects 429/503 and cuts transfers; a plain reef as destination.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAuthFile } from '../../src/registry/client/auth-file.js';
import { copyBlob, copyBlobToFile } from '../../src/registry/client/blob-copy.js';
import { platformsOf, selectPlatforms } from '../../src/registry/client/manifests.js';
import { createOciClient, type ClientOptions, type OciClient } from '../../src/registry/client/oci-client.js';
import type { RetryEvent } from '../../src/registry/client/retry.js';
import { DOCKER, pushImage, randomLayers } from '../fixtures/synthetic-release.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { makeTestPki } from '../helpers/test-pki.js';
import { requireTool } from '../helpers/tools.js';
import { DISTRIBUTION_BIN, type Distribution, startDistribution } from './helpers/distribution.js';
import { startTokenFront, type TokenFront } from './helpers/token-front.js';

const USER = 'mirror';
const PASSWORD = 'S3cret:pass-' + randomBytes(4).toString('hex');
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Descriptor {
  digest: string;
  size: number;
}

describe('upstream client: token auth, retries, streamed blob copy', () => {
  let upstream: Distribution | TestReef;
  let upstreamHost: string;
  let front: TokenFront;
  let dest: TestReef;
  let destHost: string;
  let dir: string;
  let authFile: string;
  /** Every retry reason and error message seen: none may hold a token or the password. */
  const messages: string[] = [];
  const retries: RetryEvent[] = [];
  let release: { index: string; images: string[] };
  const big = randomBytes(4 * 1024 * 1024 + 123);
  const bigDigest = sha256(big);

  const source = async (extra: Partial<ClientOptions> = {}): Promise<OciClient> =>
    createOciClient({
      registry: front.host,
      authFile: await loadAuthFile(authFile),
      retryDelayMs: 20,
      onRetry: (e) => {
        retries.push(e);
        messages.push(e.reason);
      },
      ...extra,
    });
  const destination = (extra: Partial<ClientOptions> = {}) => createOciClient({ registry: destHost, retryDelayMs: 20, ...extra });
  /** The GETs of a blob the front let through (a 401 asking for a token is no fetch). */
  const blobGets = (digest: string, since = 0) => front.requests.filter((r) => r.at >= since && r.method === 'GET' && r.path.includes(`/blobs/${digest}`) && r.status !== 401);

  /** What the mirror engine will do for one image: blobs first (optionally pausing between them), then manifests by digest, then the tag. */
  const copyImage = async (src: OciClient, srcRepo: string, dst: OciClient, dstRepo: string, tag: string, o: { pauseMs?: number; architectures?: string[]; mountFrom?: string[] } = {}) => {
    const top = await src.getManifest(srcRepo, tag);
    const children = top.mediaType === DOCKER.list || top.mediaType.endsWith('index.v1+json') ? selectPlatforms(platformsOf(top.bytes), o.architectures ?? ['multi']) : [];
    const outcomes: string[] = [];
    const images = children.length ? await Promise.all(children.map((c) => src.getManifest(srcRepo, c.digest))) : [top];
    for (const image of images) {
      const doc = JSON.parse(image.bytes.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
      for (const d of [doc.config, ...doc.layers]) {
        const r = await copyBlob({ from: src, fromRepo: srcRepo, to: dst, toRepo: dstRepo, digest: d.digest, size: d.size, ...(o.mountFrom ? { mountFrom: o.mountFrom } : {}) });
        outcomes.push(r.outcome);
        if (o.pauseMs) await sleep(o.pauseMs);
      }
      await dst.putManifest(dstRepo, image.digest, image.bytes, image.mediaType);
    }
    // A subset of an index's platforms would need a new index (another digest): the engine's call, not this test's.
    const whole = children.length === 0 || children.length === platformsOf(top.bytes).length;
    const digest = whole ? await dst.putManifest(dstRepo, tag, top.bytes, top.mediaType) : undefined;
    return { digest, top, outcomes };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reef-upstream-'));
    // distribution is what quay.io and most upstreams run; without it, a reef stands in.
    if (existsSync(DISTRIBUTION_BIN)) {
      upstream = await startDistribution();
      upstreamHost = upstream.host;
    } else {
      upstream = await startTestReef();
      upstreamHost = upstream.url.replace(/^http:\/\//, '');
    }
    front = await startTokenFront({ upstream: `http://${upstreamHost}`, users: { [USER]: PASSWORD }, tokenLifeMs: 2000 });
    // docker login writes the host with a scheme and a path: the client must still find it.
    authFile = join(dir, 'auth.json');
    writeFileSync(authFile, JSON.stringify({ auths: { [`http://${front.host}/v1/`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
    dest = await startTestReef();
    destHost = dest.url.replace(/^http:\/\//, '');

    // The upstream content, pushed straight to the registry behind the front.
    const direct = createOciClient({ registry: upstreamHost, plainHttp: true });
    const images: string[] = [];
    const entries = [];
    for (const arch of ['amd64', 'arm64']) {
      const img = await pushImage(direct, 'ocp/release', `4.19.7-${arch}`, randomLayers(`release-${arch}`, 1536 * 1024, 3), arch);
      images.push(img.digest);
      entries.push({ mediaType: DOCKER.manifest, size: img.size, digest: img.digest, platform: { architecture: arch, os: 'linux' } });
    }
    const list = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: DOCKER.list, manifests: entries }, null, 2));
    const index = await direct.putManifest('ocp/release', '4.19.7', list, DOCKER.list);
    await direct.pushBytes('big/blob', big, bigDigest);
    release = { index, images };
  });

  afterAll(async () => {
    await front?.close();
    await dest?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies a multi-arch image from the token-protected upstream into a plain reef: same digests, across token expiries', async () => {
    const src = await source();
    const started = Date.now();
    const tokensBefore = front.tokenRequests.length;
    const { digest, top } = await copyImage(src, 'ocp/release', destination(), 'mirror/release', '4.19.7', { pauseMs: 400 });
    // 8 blobs with 400 ms between them: longer than a token lives.
    expect(Date.now() - started).toBeGreaterThan(3000);
    expect(top.digest).toBe(release.index);
    expect(digest).toBe(release.index);
    const copied = await destination().getManifest('mirror/release', '4.19.7');
    expect([copied.digest, copied.mediaType]).toEqual([release.index, DOCKER.list]);
    for (const image of release.images) expect((await destination().getManifest('mirror/release', image)).digest).toBe(image);
    // Tokens were asked for with the credentials, for the scope needed, and renewed as they ran out.
    const asked = front.tokenRequests.slice(tokensBefore);
    expect(asked.every((t) => t.ok && t.service === 'test-registry')).toBe(true);
    expect(asked.some((t) => t.scopes.includes('repository:ocp/release:pull'))).toBe(true);
    expect(asked.length).toBeGreaterThanOrEqual(2);
  });

  it('a token refused mid-run (revoked before its announced expiry) is replaced once and the run goes on', async () => {
    const src = await source();
    const m = await src.getManifest('ocp/release', release.images[0]!);
    front.revokeAll();
    const since = Date.now();
    const { outcomes } = await copyImage(src, 'ocp/release', destination(), 'mirror/revoked', release.images[0]!);
    expect(outcomes.every((o) => o === 'copied')).toBe(true);
    const refused = front.requests.filter((r) => r.at >= since && r.token === 'expired');
    expect(refused.length).toBe(1);
    expect(refused[0]!.status).toBe(401);
    expect(front.requests.filter((r) => r.at >= since && r.token === 'valid' && r.status === 200).length).toBeGreaterThan(0);
    expect(m.digest).toBe(release.images[0]);
  });

  it('429 (honouring Retry-After: 1) and 503 are retried and counted', async () => {
    const src = await source();
    const seen = retries.length;
    front.inject((method, path) => method === 'GET' && path.includes('/manifests/4.19.7'), { status: 429, retryAfter: '1' });
    front.inject((method, path) => method === 'GET' && path.includes('/blobs/'), { status: 503 });
    const since = Date.now();
    await copyImage(src, 'ocp/release', destination(), 'mirror/throttled', '4.19.7', { architectures: ['arm64'] });
    const mine = retries.slice(seen);
    expect(mine.map((r) => r.status).sort()).toEqual([429, 503]);
    expect(mine.find((r) => r.status === 429)!.delayMs).toBe(1000);
    const manifestGets = front.requests.filter((r) => r.at >= since && r.method === 'GET' && r.path.includes('/manifests/4.19.7') && r.status !== 401);
    expect(manifestGets[0]!.status).toBe(429);
    expect(manifestGets[1]!.at - manifestGets[0]!.at).toBeGreaterThanOrEqual(950);
    expect(front.requests.filter((r) => r.at >= since && r.fault).map((r) => r.fault).sort()).toEqual(['429', '503']);
    // Only arm64 was asked for: the amd64 image is not there.
    expect(await destination().headManifest('mirror/throttled', release.images[0]!)).toBeUndefined();
    expect((await destination().headManifest('mirror/throttled', release.images[1]!))?.digest).toBe(release.images[1]);
  });

  it('a transfer cut mid-blob resumes with Range into the same upload: fetched once in full, verified, progress to the end', async () => {
    const src = await source();
    const since = Date.now();
    front.inject((method, path, headers) => method === 'GET' && path.includes(`/blobs/${bigDigest}`) && !headers.range, { cutAfter: 1024 * 1024 + 7 });
    const progress: number[] = [];
    const r = await copyBlob({ from: src, fromRepo: 'big/blob', to: destination({ chunkSize: 1024 * 1024 }), toRepo: 'mirror/big', digest: bigDigest, size: big.length, onProgress: (done) => progress.push(done) });
    expect(r.outcome).toBe('copied');
    const gets = blobGets(bigDigest, since);
    expect(gets.filter((g) => !g.range)).toHaveLength(1);
    expect(gets.filter((g) => g.range).map((g) => g.range)).toEqual([expect.stringMatching(/^bytes=[1-9]\d*-$/)]);
    expect(Number(/=(\d+)-/.exec(gets.find((g) => g.range)!.range!)![1])).toBeGreaterThanOrEqual(1024 * 1024);
    expect(progress.at(-1)).toBe(big.length);
    // reef verified the digest at the final PUT; read it back to be sure.
    const out = join(dir, 'big.bin');
    await copyBlobToFile(destination(), 'mirror/big', bigDigest, big.length, out);
    expect(sha256(readFileSync(out))).toBe(bigDigest);
  });

  it('a source that sends altered bytes: the copy fails on the digest and the destination holds nothing of it', async () => {
    const src = await source();
    const dst = destination({ retries: 0 });
    front.inject((method, path, headers) => method === 'GET' && path.includes(`/blobs/${bigDigest}`) && !headers.range, { flipByteAt: 3 * 1024 * 1024 });
    await expect(copyBlob({ from: src, fromRepo: 'big/blob', to: dst, toRepo: 'mirror/flipped', digest: bigDigest, size: big.length })).rejects.toThrow(/digest/i);
    expect(await dst.blobExists('mirror/flipped', bigDigest)).toBe(false);
  });

  it('the raw-read path (blobPush) and blobStream from an offset get their token the same way', async () => {
    const parts: Buffer[] = [];
    await (await source()).blobPush('big/blob', bigDigest, big.length, (chunk) => void parts.push(Buffer.from(chunk)));
    expect(sha256(Buffer.concat(parts))).toBe(bigDigest);
    const tail: Buffer[] = [];
    for await (const chunk of (await source()).blobStream('big/blob', bigDigest, { offset: big.length - 1000 })) tail.push(chunk as Buffer);
    expect(Buffer.concat(tail).equals(big.subarray(big.length - 1000))).toBe(true);
  });

  it('a blob the destination holds is not fetched at all (HEAD hit), and a destination repository holding it is mounted from', async () => {
    const src = await source();
    const dst = destination();
    await dst.pushBytes('mirror/present', big, bigDigest);
    const since = Date.now();
    expect((await copyBlob({ from: src, fromRepo: 'big/blob', to: dst, toRepo: 'mirror/present', digest: bigDigest, size: big.length })).outcome).toBe('present');
    expect(await copyBlob({ from: src, fromRepo: 'big/blob', to: dst, toRepo: 'mirror/other', digest: bigDigest, size: big.length, mountFrom: ['mirror/present'] })).toEqual({
      outcome: 'mounted',
      mountedFrom: 'mirror/present',
    });
    expect(blobGets(bigDigest, since)).toHaveLength(0);
    expect(await dst.blobExists('mirror/other', bigDigest)).toBe(true);
  });

  it('inside one registry a blob is mounted across repositories (token scope pull on the source repository, push on the target)', async () => {
    const src = await source();
    const since = Date.now();
    const tokens = front.tokenRequests.length;
    const r = await copyBlob({ from: src, fromRepo: 'big/blob', to: src, toRepo: 'mirror-inside/big', digest: bigDigest, size: big.length });
    expect(r).toEqual({ outcome: 'mounted', mountedFrom: 'big/blob' });
    const mount = front.requests.find((q) => q.at >= since && q.method === 'POST' && q.path.includes('mount='));
    expect(mount?.status).toBe(201);
    expect(mount?.path).toContain(`from=${encodeURIComponent('big/blob')}`);
    expect(blobGets(bigDigest, since)).toHaveLength(0);
    expect(front.tokenRequests.slice(tokens).some((t) => t.scopes.includes('repository:mirror-inside/big:pull,push') && t.scopes.includes('repository:big/blob:pull'))).toBe(true);
  });

  it('pushes through the token front in chunks (scope pull,push) into the upstream registry', async () => {
    const src = await source({ chunkSize: 1024 * 1024 });
    const since = Date.now();
    const r = await copyBlob({ from: destination(), fromRepo: 'mirror/big', to: src, toRepo: 'pushed/big', digest: bigDigest, size: big.length });
    expect(r.outcome).toBe('copied');
    const patches = front.requests.filter((q) => q.at >= since && q.method === 'PATCH');
    // 4 whole MiB PATCHed; the last 123 bytes ride on the closing PUT.
    expect(patches.map((p) => [p.length, p.status])).toEqual(Array(4).fill([1024 * 1024, 202]));
    const puts = front.requests.filter((q) => q.at >= since && q.method === 'PUT');
    // With its Content-Range, as a PATCH would carry it (zot reads a PUT body without one as a whole blob).
    const last = `${4 * 1024 * 1024}-${4 * 1024 * 1024 + 122}`;
    expect(puts.map((p) => [p.length, p.contentRange, p.status, p.path.includes(`digest=${encodeURIComponent(bigDigest)}`)])).toEqual([[123, last, 201, true]]);
    expect(await src.blobExists('pushed/big', bigDigest)).toBe(true);
  });

  it('a closing PUT that fails with its chunk is resumed: where the upload stands, the rest PATCHed, an empty PUT', async () => {
    const src = await source({ chunkSize: 1024 * 1024 });
    const since = Date.now();
    front.inject((method, path) => method === 'PUT' && path.includes('/pushed/resumed/blobs/uploads/'), { status: 503 });
    const r = await copyBlob({ from: destination(), fromRepo: 'mirror/big', to: src, toRepo: 'pushed/resumed', digest: bigDigest, size: big.length });
    expect(r.outcome).toBe('copied');
    const upload = front.requests.filter((q) => q.at >= since && q.path.includes('/pushed/resumed/blobs/') && q.method !== 'POST' && q.status !== 401); // 401: the token dance
    expect(upload.map((q) => `${q.method} ${q.length ?? '-'} ${q.status ?? q.fault}`)).toEqual([
      'HEAD - 404',
      ...Array(4).fill(`PATCH ${1024 * 1024} 202`),
      'PUT 123 503',
      'HEAD - 404', // the PUT did not go through
      'GET - 204', // the upload holds 4 MiB
      'PATCH 123 202',
      'PUT 0 201',
    ]);
    expect(await src.blobExists('pushed/resumed', bigDigest)).toBe(true);
  });

  it('lists tags page by page through Link (a token-protected reef: distribution 2.8 does not page)', async () => {
    const tagged = await startTokenFront({ upstream: dest.url, users: { [USER]: PASSWORD }, tokenLifeMs: 2000 });
    try {
      const dst = destination();
      const config = Buffer.from('{}');
      await dst.pushBytes('paged/tags', config, sha256(config));
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(config), size: 2 }, layers: [] }));
      const names = ['a1', 'a2', 'b1', 'b2', 'c1'];
      for (const tag of names) await dst.putManifest('paged/tags', tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
      const auths = { auths: { [tagged.host]: { username: USER, password: PASSWORD } } };
      writeFileSync(join(dir, 'paged.json'), JSON.stringify(auths));
      const src = createOciClient({ registry: tagged.host, authFile: await loadAuthFile(join(dir, 'paged.json')) });
      expect(await src.listTags('paged/tags', { pageSize: 2 })).toEqual(names);
      const pages = tagged.requests.filter((r) => r.path.includes('/tags/list') && r.status === 200);
      expect(pages.map((p) => new URL(p.path, tagged.url).searchParams.get('last'))).toEqual([null, 'a2', 'b2']);
      expect(await src.listTags('no/such-repo')).toEqual([]);
    } finally {
      await tagged.close();
    }
  });

  it('wrong or missing credentials: a clear error naming the registry, no retry storm', async () => {
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ auths: { [front.host]: { auth: Buffer.from(`${USER}:not-${PASSWORD}`).toString('base64') } } }));
    const bad = createOciClient({ registry: front.host, authFile: await loadAuthFile(wrong), retryDelayMs: 20 });
    const asked = front.tokenRequests.length;
    const err = (await bad.getManifest('ocp/release', '4.19.7').catch((e: unknown) => e)) as Error;
    messages.push(err.message);
    expect(err.message).toBe(`the token service of ${front.host} (${front.url}/token) refused the credentials given for ${front.host}: HTTP 401`);
    expect(front.tokenRequests.length - asked).toBe(1);
    const anonymous = createOciClient({ registry: front.host, authFile: await loadAuthFile(undefined, { home: join(dir, 'nobody') }) });
    const err2 = (await anonymous.listTags('ocp/release').catch((e: unknown) => e)) as Error;
    messages.push(err2.message);
    expect(err2.message).toMatch(new RegExp(`refused anonymous access: HTTP 401; credentials for ${front.host.replace(/\./g, '\\.')} are needed`));
  });

  it('no message of any run held a token or the password', () => {
    expect(front.issued.length).toBeGreaterThan(3);
    expect(messages.length).toBeGreaterThan(0);
    for (const m of messages) {
      expect(m).not.toContain(PASSWORD);
      for (const t of front.issued) expect(m).not.toContain(t);
    }
  });
});

describe('upstream client TLS options', () => {
  const tls = requireTool('openssl');
  it.skipIf(!tls)('verifies by default (no retry on a refused certificate); caFile trusts a CA; tlsVerify: false skips the check', async () => {
    const pki = makeTestPki('reef upstream test CA');
    let connections = 0;
    const server = https.createServer({ cert: pki.cert, key: pki.key }, (_req, res) => res.writeHead(404).end());
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'reef-upstream-tls-'));
    try {
      const digest = `sha256:${'0'.repeat(64)}`;
      const strict = createOciClient({ registry: host, plainHttp: false, retryDelayMs: 20 });
      await expect(strict.blobExists('x/y', digest)).rejects.toThrow(`cannot trust the registry at https://${host}: its certificate is not signed by a CA this machine trusts`);
      expect(connections).toBe(1);
      const caFile = join(dir, 'ca.crt');
      writeFileSync(caFile, pki.caPem);
      expect(await createOciClient({ registry: host, caFile }).blobExists('x/y', digest)).toBe(false);
      expect(await createOciClient({ registry: host, plainHttp: false, tlsVerify: false }).blobExists('x/y', digest)).toBe(false);
    } finally {
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
