/**
 * HTTP conformance of the embedded registry (/v2) against the OCI distribution-spec v1.1:
 * one test (or small group) per endpoint and error code. See DESIGN.md §3.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import {
  bytesOf, client, collectPages, expectBlob, expectManifest, expectOciError, type Fetch, finishUpload, getManifest,
  patchChunk, pushBlob, pushBlobChunked, pushBlobMonolithic, pushImage, pushManifest, putManifest, startUpload, withQuery,
} from './helpers/client.js';
import { openRequest, settle, sleep } from './helpers/raw.js';
import { getReferrers, pushReferrer } from './helpers/referrers.js';
import {
  blobOf, configBlob, descriptorOf, dockerList, dockerManifest, imageManifest, indexManifest,
  MT, platform, randomBlob, sha256,
} from './helpers/oci.js';

let reef: TestReef;
let f: Fetch;
let base: string;
beforeAll(async () => {
  reef = await startTestReef();
  base = reef.url;
  f = client(base);
});
afterAll(async () => reef?.stop());

const octet = { 'content-type': 'application/octet-stream' };
const statusOf = (location: string) => f(location);

it('GET /v2/ answers 200 with Docker-Distribution-API-Version: registry/2.0', async () => {
  const res = await f('/v2/');
  expect(res.status).toBe(200);
  expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
});

it('HEAD answers say their Content-Length (a 404 blob, /v2/): a Node client keeps the connection', async () => {
  const agent = new http.Agent({ keepAlive: true });
  try {
    const head = (path: string) =>
      new Promise<{ status: number; length: string | undefined; socket: object }>((resolve, reject) => {
        const req = http.request(`${base}${path}`, { method: 'HEAD', agent }, (res) => {
          const socket = res.socket;
          res.resume();
          // The socket goes back to the agent's pool on 'end', after this tick.
          res.on('end', () => setImmediate(() => resolve({ status: res.statusCode ?? 0, length: res.headers['content-length'], socket })));
        });
        req.on('error', reject);
        req.end();
      });
    const missing = `/v2/keepalive/x/blobs/sha256:${'0'.repeat(64)}`;
    const a = await head(missing);
    const b = await head(missing);
    const c = await head('/v2/');
    expect([a.status, b.status, c.status]).toEqual([404, 404, 200]);
    // The length of the error document a GET would carry, and of `{}`.
    expect(Number(a.length)).toBeGreaterThan(0);
    expect(c.length).toBe('2');
    expect(b.socket).toBe(a.socket);
    expect(c.socket).toBe(a.socket);
  } finally {
    agent.destroy();
  }
});

describe('blob uploads', () => {
  it('POST (202, Location, Docker-Upload-UUID) then PUT ?digest= (201, Location, Docker-Content-Digest)', async () => {
    const blob = await pushBlob(f, base, 'up/post-put', randomBlob());
    expect((await expectBlob(f, 'up/post-put', blob)).equals(blob.bytes)).toBe(true);
  });

  it('the same blob uploaded into another repository is stored once: the first file stays, no upload file is left', async () => {
    const blob = await pushBlobChunked(f, base, 'up/dedup-a', randomBlob(300_000), 100_000);
    const file = join(reef.dataDir, 'registry', 'blobs', 'sha256', blob.digest.slice('sha256:'.length));
    const before = statSync(file);
    await pushBlobChunked(f, base, 'up/dedup-b', blob, 64_000);
    const after = statSync(file);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(readdirSync(join(reef.dataDir, 'registry', 'uploads'))).toEqual([]);
    expect((await expectBlob(f, 'up/dedup-b', blob)).equals(blob.bytes)).toBe(true);
  });

  it('POST ?digest= with the body is a monolithic upload: 201', async () => {
    const blob = await pushBlobMonolithic(f, 'up/mono', randomBlob());
    await expectBlob(f, 'up/mono', blob);
  });

  it('PATCH chunks: 202 with Range 0-<end>; GET status 204 with Range and Location', async () => {
    const blob = randomBlob(10_000);
    let loc = await startUpload(f, base, 'up/chunked');
    const first = await patchChunk(f, loc, 0, blob.bytes.subarray(0, 4000));
    expect(first.status).toBe(202);
    expect(first.headers.get('range')).toBe('0-3999');
    loc = withQuery(base, first.headers.get('location')!);
    const status = await statusOf(loc);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-3999');
    expect(status.headers.get('location')).toBeTruthy();
    loc = withQuery(base, status.headers.get('location')!);
    const second = await patchChunk(f, loc, 4000, blob.bytes.subarray(4000));
    expect(second.headers.get('range')).toBe('0-9999');
    expect((await finishUpload(f, base, second.headers.get('location')!, blob.digest)).status).toBe(201);
    await expectBlob(f, 'up/chunked', blob);
    await expectBlob(f, 'up/chunked', await pushBlobChunked(f, base, 'up/chunked', randomBlob(5000), 1024));
  });

  it('an out-of-order chunk → 416 with the current Range; the upload then goes on', async () => {
    const blob = randomBlob(30);
    let loc = await startUpload(f, base, 'up/order');
    const first = await patchChunk(f, loc, 0, blob.bytes.subarray(0, 10));
    loc = withQuery(base, first.headers.get('location')!);
    const gap = await patchChunk(f, loc, 20, blob.bytes.subarray(20));
    expect(gap.headers.get('range')).toBe('0-9');
    await expectOciError(gap, 416, ['BLOB_UPLOAD_INVALID', 'RANGE_INVALID']);
    const rest = await patchChunk(f, loc, 10, blob.bytes.subarray(10));
    expect(rest.status).toBe(202);
    expect((await finishUpload(f, base, rest.headers.get('location')!, blob.digest)).status).toBe(201);
    await expectBlob(f, 'up/order', blob);
  });

  it('PUT with a wrong digest → 400 DIGEST_INVALID and no blob becomes visible', async () => {
    const blob = randomBlob();
    const claimed = sha256(Buffer.from('something else'));
    const loc = await startUpload(f, base, 'up/wrong');
    await expectOciError(await finishUpload(f, base, loc, claimed, blob.bytes), 400, 'DIGEST_INVALID');
    expect((await f(`/v2/up/wrong/blobs/${claimed}`, { method: 'HEAD' })).status).toBe(404);
    expect((await f(`/v2/up/wrong/blobs/${blob.digest}`, { method: 'HEAD' })).status).toBe(404);
  });

  it('DELETE an upload → 204; its status is then 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const loc = await startUpload(f, base, 'up/cancel');
    expect((await patchChunk(f, loc, 0, Buffer.from('partial'))).status).toBe(202);
    expect((await f(loc, { method: 'DELETE' })).status).toBe(204);
    await expectOciError(await statusOf(loc), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('a PATCH dropped mid-body resumes from the offset that GET status reports', async () => {
    const blob = randomBlob(300_000);
    const first = await patchChunk(f, await startUpload(f, base, 'up/resume'), 0, blob.bytes.subarray(0, 100_000));
    expect(first.status).toBe(202);
    const loc = withQuery(base, first.headers.get('location')!);
    const held = openRequest(loc, 'PATCH', { ...octet, 'content-length': '200000', 'content-range': '100000-299999' });
    await held.write(blob.bytes.subarray(100_000, 150_000));
    await sleep(200);
    held.drop();
    const status = await settle(() => statusOf(loc), (r) => r.status === 204);
    expect(status.status).toBe(204);
    const end = Number(/^0-(\d+)$/.exec(status.headers.get('range') ?? '')?.[1]);
    expect(end).toBeGreaterThanOrEqual(99_999); // the acknowledged chunk is never lost
    expect(end).toBeLessThan(300_000);
    const rest = await patchChunk(f, withQuery(base, status.headers.get('location')!), end + 1, blob.bytes.subarray(end + 1));
    expect(rest.status).toBe(202);
    expect(rest.headers.get('range')).toBe('0-299999');
    expect((await finishUpload(f, base, rest.headers.get('location')!, blob.digest)).status).toBe(201);
    await expectBlob(f, 'up/resume', blob);
  });
});

describe('blobs', () => {
  it('GET and HEAD: 200 with Content-Length and Docker-Content-Digest; HEAD has no body; Range → 206', async () => {
    const blob = await pushBlob(f, base, 'blobs/read', randomBlob(5000));
    for (const method of ['GET', 'HEAD']) {
      const res = await f(`/v2/blobs/read/blobs/${blob.digest}`, { method });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe('5000');
      expect(res.headers.get('docker-content-digest')).toBe(blob.digest);
      expect((await bytesOf(res)).length).toBe(method === 'GET' ? 5000 : 0);
    }
    for (const [range, from, to] of [['bytes=100-199', 100, 199], ['bytes=4990-', 4990, 4999]] as const) {
      const res = await f(`/v2/blobs/read/blobs/${blob.digest}`, { headers: { range } });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${from}-${to}/5000`);
      expect((await bytesOf(res)).equals(blob.bytes.subarray(from, to + 1))).toBe(true);
    }
  });

  it('unknown blob → 404 BLOB_UNKNOWN; DELETE blob → 202 then 404', async () => {
    const blob = await pushBlob(f, base, 'blobs/del', randomBlob());
    await expectOciError(await f(`/v2/blobs/del/blobs/${randomBlob().digest}`), 404, 'BLOB_UNKNOWN');
    expect((await f(`/v2/blobs/del/blobs/${randomBlob().digest}`, { method: 'HEAD' })).status).toBe(404);
    expect((await f(`/v2/blobs/del/blobs/${blob.digest}`, { method: 'DELETE' })).status).toBe(202);
    await expectOciError(await f(`/v2/blobs/del/blobs/${blob.digest}`), 404, 'BLOB_UNKNOWN');
  });

  it('cross-repo mount → 201 with Location; the blob is then readable from the target', async () => {
    const blob = await pushBlob(f, base, 'mount/src', randomBlob());
    const res = await f(`/v2/mount/dst/blobs/uploads/?mount=${blob.digest}&from=mount/src`, { method: 'POST' });
    expect(res.status).toBe(201);
    expect(new URL(res.headers.get('location')!, base).pathname).toBe(`/v2/mount/dst/blobs/${blob.digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(blob.digest);
    await expectBlob(f, 'mount/dst', blob);
  });

  it('mount of an unknown blob → 202 with an upload session that completes', async () => {
    const blob = randomBlob();
    const res = await f(`/v2/mount/dst2/blobs/uploads/?mount=${blob.digest}&from=mount/src`, { method: 'POST' });
    expect(res.status).toBe(202);
    const put = await finishUpload(f, base, res.headers.get('location')!, blob.digest, blob.bytes);
    expect(put.status).toBe(201);
    await expectBlob(f, 'mount/dst2', blob);
  });

  it('mount without `from` of a known blob → 201', async () => {
    const blob = await pushBlob(f, base, 'mount/known', randomBlob());
    const res = await f(`/v2/mount/nofrom/blobs/uploads/?mount=${blob.digest}`, { method: 'POST' });
    expect(res.status).toBe(201);
    await expectBlob(f, 'mount/nofrom', blob);
  });
});

describe('names and digests', () => {
  it.each(['os-images/ubuntu-rootfs', 'a/b/c/d'])('nested repository %s: push and pull', async (repo) => {
    const img = await pushImage(f, base, repo, 'v1');
    await expectManifest(f, repo, 'v1', img.manifest);
    for (const b of [img.config, ...img.layers]) await expectBlob(f, repo, b);
    expect((await reef.json('GET', `/v2/${repo}/tags/list`)).body).toEqual({ name: repo, tags: ['v1'] });
  });

  it.each(['UPPER/case', 'a//b', '-x'])('bad name %s → 400 NAME_INVALID', async (repo) => {
    await expectOciError(await f(`/v2/${repo}/tags/list`), 400, 'NAME_INVALID');
    await expectOciError(await f(`/v2/${repo}/blobs/uploads/`, { method: 'POST' }), 400, 'NAME_INVALID');
    await expectOciError(await f(`/v2/${repo}/manifests/latest`), 400, 'NAME_INVALID');
  });

  it('sha512 digests are accepted for blobs', async () => {
    const blob = blobOf(randomBlob().bytes, 'sha512');
    await pushBlob(f, base, 'digests/sha512', blob);
    const res = await f(`/v2/digests/sha512/blobs/${blob.digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(blob.digest);
    expect((await bytesOf(res)).equals(blob.bytes)).toBe(true);
  });

  it.each(['sha256:xyz', `sha256:${'a'.repeat(63)}`, `sha256:${'A'.repeat(64)}`, `md5:${'a'.repeat(32)}`, 'sha256'])(
    'bad digest %s → 400 DIGEST_INVALID',
    async (digest) => {
      await pushBlob(f, base, 'digests/bad', randomBlob());
      await expectOciError(await f(`/v2/digests/bad/blobs/${digest}`), 400, 'DIGEST_INVALID');
      const loc = await startUpload(f, base, 'digests/bad');
      await expectOciError(await finishUpload(f, base, loc, digest, Buffer.from('x')), 400, 'DIGEST_INVALID');
    },
  );
});

describe('manifests', () => {
  const repo = 'man/app';
  it('PUT by tag → 201; GET by tag and by digest give the exact bytes and Content-Type; HEAD', async () => {
    const img = await pushImage(f, base, repo, 'v1');
    await expectManifest(f, repo, 'v1', img.manifest);
    await expectManifest(f, repo, img.manifest.digest, img.manifest);
    const head = await getManifest(f, repo, 'v1', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(img.manifest.digest);
    expect(head.headers.get('content-length')).toBe(String(img.manifest.size));
    expect(head.headers.get('content-type')).toBe(MT.ociManifest);
    expect((await bytesOf(head)).length).toBe(0);
    expect((await bytesOf(await f(`/v2/${repo}/manifests/v1`))).equals(img.manifest.bytes)).toBe(true); // no Accept
  });

  it('missing blob → 400 MANIFEST_BLOB_UNKNOWN; bad JSON → 400 MANIFEST_INVALID; bad tag → 400 TAG_INVALID', async () => {
    const config = await pushBlob(f, base, repo, configBlob());
    const m = imageManifest(descriptorOf(config, MT.ociConfig), [descriptorOf(randomBlob(), MT.ociLayer)]);
    await expectOciError(await putManifest(f, repo, 'missing', m), 400, 'MANIFEST_BLOB_UNKNOWN');
    await expectOciError(await getManifest(f, repo, 'missing'), 404, 'MANIFEST_UNKNOWN');
    const bad = { ...m, bytes: Buffer.from('{"schemaVersion": 2, "config": ') };
    await expectOciError(await putManifest(f, repo, 'bad', bad), 400, 'MANIFEST_INVALID');
    await expectOciError(await putManifest(f, repo, '.bad', m), 400, 'TAG_INVALID');
  });

  it('a manifest naming blobs another repository holds is refused (MANIFEST_BLOB_UNKNOWN): a push right to one repository reads no other', async () => {
    const secret = `${repo}-private`;
    const config = await pushBlob(f, base, secret, configBlob());
    const layer = await pushBlob(f, base, secret, randomBlob());
    const m = imageManifest(descriptorOf(config, MT.ociConfig), [descriptorOf(layer, MT.ociLayer)]);
    const thief = `${repo}-thief`;
    await expectOciError(await putManifest(f, thief, 'stolen', m), 400, 'MANIFEST_BLOB_UNKNOWN');
    expect((await f(`/v2/${thief}/blobs/${layer.digest}`)).status).toBe(404);
    await pushManifest(f, secret, 'own', m); // where the blobs are, the same manifest goes in
  });

  it('PUT by a digest that does not match the body → 400 DIGEST_INVALID; by its own digest → 201', async () => {
    const img = await pushImage(f, base, repo, 'digest-src');
    const other = imageManifest(descriptorOf(img.config, MT.ociConfig), [], { annotations: { x: 'y' } });
    await expectOciError(await putManifest(f, repo, img.manifest.digest, other), 400, 'DIGEST_INVALID');
    await pushManifest(f, repo, other.digest, other);
    await expectManifest(f, repo, other.digest, other);
  });

  it('OCI index: a missing child → 400 MANIFEST_BLOB_UNKNOWN; once pushed by digest → 201', async () => {
    const child = await pushImage(f, base, repo, 'child-tmp');
    const orphan = imageManifest(descriptorOf(child.config, MT.ociConfig), [descriptorOf(child.layers[0]!, MT.ociLayer)]);
    const index = indexManifest([
      descriptorOf(child.manifest, MT.ociManifest, { platform: platform('amd64') }),
      descriptorOf(orphan, MT.ociManifest, { platform: platform('arm64') }),
    ]);
    await expectOciError(await putManifest(f, repo, 'multi', index), 400, 'MANIFEST_BLOB_UNKNOWN');
    await pushManifest(f, repo, orphan.digest, orphan);
    await pushManifest(f, repo, 'multi', index);
    await expectManifest(f, repo, 'multi', index);
  });

  it('Docker schema2 manifest and manifest list are accepted and served with their media types', async () => {
    const config = await pushBlob(f, base, repo, configBlob());
    const layer = await pushBlob(f, base, repo, randomBlob());
    const dm = dockerManifest(descriptorOf(config, MT.dockerConfig), [descriptorOf(layer, MT.dockerLayer)]);
    await pushManifest(f, repo, 'docker', dm);
    await expectManifest(f, repo, 'docker', dm);
    const list = dockerList([descriptorOf(dm, MT.dockerManifest, { platform: platform('amd64') })]);
    await pushManifest(f, repo, 'docker-list', list);
    await expectManifest(f, repo, 'docker-list', list);
  });

  it('unknown manifest → 404 MANIFEST_UNKNOWN (by tag and by digest)', async () => {
    await expectOciError(await getManifest(f, repo, 'nope'), 404, 'MANIFEST_UNKNOWN');
    await expectOciError(await getManifest(f, repo, randomBlob().digest), 404, 'MANIFEST_UNKNOWN');
  });

  it('a manifest pushed (and served) in one repository is unknown in another, by digest too', async () => {
    const img = await pushImage(f, base, repo, 'only-here');
    await expectManifest(f, repo, 'only-here', img.manifest);
    await expectOciError(await getManifest(f, `${repo}-other`, img.manifest.digest), 404, 'MANIFEST_UNKNOWN');
    await expectOciError(await getManifest(f, `${repo}-other`, 'only-here'), 404, 'MANIFEST_UNKNOWN');
  });

  it('DELETE by tag removes only the tag; DELETE by digest removes the manifest', async () => {
    const img = await pushImage(f, base, repo, 'del-tag');
    expect((await f(`/v2/${repo}/manifests/del-tag`, { method: 'DELETE' })).status).toBe(202);
    await expectOciError(await getManifest(f, repo, 'del-tag'), 404, 'MANIFEST_UNKNOWN');
    await expectManifest(f, repo, img.manifest.digest, img.manifest);
    expect((await reef.json('GET', `/v2/${repo}/tags/list`)).body.tags).not.toContain('del-tag');
    const gone = await pushImage(f, base, repo, 'del-digest');
    expect((await f(`/v2/${repo}/manifests/${gone.manifest.digest}`, { method: 'DELETE' })).status).toBe(202);
    await expectOciError(await getManifest(f, repo, gone.manifest.digest), 404, 'MANIFEST_UNKNOWN');
    await expectOciError(await getManifest(f, repo, 'del-digest'), 404, 'MANIFEST_UNKNOWN'); // no dangling tag
  });
});

describe('tags/list', () => {
  it('is sorted and paginates with n, last and Link: <…?n=&last=>; rel="next"', async () => {
    const repo = 'tags/paged';
    const img = await pushImage(f, base, repo, 'v2');
    for (const tag of ['1.0', 'latest', 'alpha', 'v1.0']) await pushManifest(f, repo, tag, img.manifest);
    expect((await reef.json('GET', `/v2/${repo}/tags/list`)).body).toEqual({ name: repo, tags: ['1.0', 'alpha', 'latest', 'v1.0', 'v2'] });
    expect(await collectPages(f, base, `/v2/${repo}/tags/list?n=2`, 'tags')).toEqual([['1.0', 'alpha'], ['latest', 'v1.0'], ['v2']]);
    expect((await reef.json('GET', `/v2/${repo}/tags/list?last=latest`)).body.tags).toEqual(['v1.0', 'v2']);
  });

  it('unknown repository → 404 NAME_UNKNOWN', async () => {
    await expectOciError(await f('/v2/no/such/repo/tags/list'), 404, 'NAME_UNKNOWN');
  });
});

describe('referrers', () => {
  const repo = 'refs/app';
  const sbomType = 'application/vnd.example.sbom.v1+json';

  it('lists artifacts with subject as an OCI index; artifactType filters; DELETE removes the referrer', async () => {
    const img = await pushImage(f, base, repo, 'v1');
    const sbom = (await pushReferrer(f, base, repo, sbomType, img.descriptor, { 'org.example.kind': 'sbom' })).manifest;
    const sig = (await pushReferrer(f, base, repo, 'application/vnd.example.sig.v1', img.descriptor)).manifest;
    const cfg = await pushBlob(f, base, repo, blobOf(JSON.stringify({ note: 'typed by its config' })));
    const typed = imageManifest(descriptorOf(cfg, 'application/vnd.example.config.v1+json'), [], { subject: img.descriptor });
    expect((await pushManifest(f, repo, typed.digest, typed)).headers.get('oci-subject')).toBe(img.manifest.digest);
    expect((await getReferrers(f, repo, img.manifest.digest)).manifests).toEqual([
      { mediaType: MT.ociManifest, digest: typed.digest, size: typed.size, artifactType: 'application/vnd.example.config.v1+json' },
      { mediaType: MT.ociManifest, digest: sbom.digest, size: sbom.size, artifactType: sbomType, annotations: { 'org.example.kind': 'sbom' } },
      { mediaType: MT.ociManifest, digest: sig.digest, size: sig.size, artifactType: 'application/vnd.example.sig.v1' },
    ]);
    const filtered = await getReferrers(f, repo, img.manifest.digest, `?artifactType=${encodeURIComponent(sbomType)}`);
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(filtered.manifests.map((m) => m.digest)).toEqual([sbom.digest]);
    expect((await f(`/v2/${repo}/manifests/${sig.digest}`, { method: 'DELETE' })).status).toBe(202);
    expect((await getReferrers(f, repo, img.manifest.digest)).manifests.map((m) => m.digest)).not.toContain(sig.digest);
  });

  it('a subject that does not exist is accepted; an unknown digest has an empty referrers index', async () => {
    const absent = descriptorOf(randomBlob(), MT.ociManifest);
    const { manifest } = await pushReferrer(f, base, repo, sbomType, absent);
    expect((await getReferrers(f, repo, absent.digest)).manifests.map((x) => x.digest)).toEqual([manifest.digest]);
    expect((await getReferrers(f, repo, randomBlob().digest)).manifests).toEqual([]);
  });
});

describe('servers of their own', () => {
  const servers: TestReef[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const r = await startTestReef(env);
    servers.push(r);
    return r;
  };
  afterAll(async () => {
    for (const r of servers) await r.stop();
  });

  it('/v2/_catalog lists repositories sorted, paginated with n, last and Link', async () => {
    const r = await start();
    const fc = client(r.url);
    for (const repo of ['zeta', 'alpha/one', 'mid', 'alpha/two', 'beta']) await pushImage(fc, r.url, repo, 'v1', 1);
    expect((await r.json('GET', '/v2/_catalog')).body).toEqual({ repositories: ['alpha/one', 'alpha/two', 'beta', 'mid', 'zeta'] });
    expect(await collectPages(fc, r.url, '/v2/_catalog?n=2', 'repositories')).toEqual([['alpha/one', 'alpha/two'], ['beta', 'mid'], ['zeta']]);
  });

  const expectChallenge = async (res: Response) => {
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="reef"');
    await expectOciError(res, 401, 'UNAUTHORIZED');
  };

  it.skipIf(!requireTool('htpasswd'))('htpasswd: 401 with a Basic challenge without or with wrong credentials, 200 with right ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-htpasswd-'));
    const file = join(dir, 'htpasswd');
    writeFileSync(file, execFileSync('htpasswd', ['-Bbn', 'ci', 's3cret pass'], { encoding: 'utf8' }));
    try {
      const r = await start({ REGISTRY_AUTH_MODE: 'htpasswd', REGISTRY_HTPASSWD_FILE: file });
      await expectChallenge(await client(r.url)('/v2/'));
      await expectChallenge(await client(r.url, { user: 'ci', pass: 'wrong' })('/v2/'));
      await expectChallenge(await client(r.url, { user: 'nobody', pass: 's3cret pass' })('/v2/'));
      const ok = client(r.url, { user: 'ci', pass: 's3cret pass' });
      expect((await ok('/v2/')).status).toBe(200);
      const img = await pushImage(ok, r.url, 'auth/app', 'v1');
      await expectManifest(ok, 'auth/app', 'v1', img.manifest);
      await expectChallenge(await getManifest(client(r.url), 'auth/app', 'v1'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('basic auth with anonymous pull: anyone pulls, only the named user pushes or deletes', async () => {
    const r = await start({ REGISTRY_AUTH_MODE: 'basic', REGISTRY_USERNAME: 'ci', REGISTRY_PASSWORD: 'pw', REGISTRY_ANONYMOUS_PULL: 'true' });
    const ok = client(r.url, { user: 'ci', pass: 'pw' });
    const anon = client(r.url);
    const img = await pushImage(ok, r.url, 'anon/app', 'v1');
    await expectManifest(anon, 'anon/app', 'v1', img.manifest);
    await expectBlob(anon, 'anon/app', img.layers[0]!);
    expect((await anon('/v2/anon/app/tags/list')).status).toBe(200);
    await expectChallenge(await anon('/v2/anon/app/blobs/uploads/', { method: 'POST' }));
    await expectChallenge(await putManifest(anon, 'anon/app', 'v2', img.manifest));
    await expectChallenge(await anon(`/v2/anon/app/manifests/${img.manifest.digest}`, { method: 'DELETE' }));
    await expectChallenge(await client(r.url, { user: 'ci', pass: 'bad' })('/v2/anon/app/blobs/uploads/', { method: 'POST' }));
    await expectManifest(anon, 'anon/app', 'v1', img.manifest);
  });

  it('REGISTRY_MAX_CONCURRENT_UPLOADS=1: a second PATCH while one streams → 429 TOOMANYREQUESTS', async () => {
    const r = await start({ REGISTRY_MAX_CONCURRENT_UPLOADS: '1' });
    const fc = client(r.url);
    const [a, b, c] = [randomBlob(64 * 1024), randomBlob(1024), randomBlob(64 * 1024)];
    const locA = await startUpload(fc, r.url, 'limit/a');
    const locB = await startUpload(fc, r.url, 'limit/b');
    const slow = openRequest(locA, 'PATCH', { ...octet, 'content-length': String(a.size), 'content-range': `0-${a.size - 1}` });
    await slow.write(a.bytes.subarray(0, 1024));
    // Wait until the server holds A's slot: an empty PATCH on a spare session then gets 429.
    const spare = await startUpload(fc, r.url, 'limit/spare');
    const probe = async () => {
      const res = await fc(spare, { method: 'PATCH', headers: { ...octet, 'content-length': '0' } });
      await res.arrayBuffer();
      return res.status;
    };
    await settle(probe, (s) => s === 429);
    await expectOciError(await patchChunk(fc, locB, 0, b.bytes), 429, 'TOOMANYREQUESTS');
    slow.end(a.bytes.subarray(1024));
    const doneA = await slow.response;
    expect(doneA.status).toBe(202);
    expect((await finishUpload(fc, r.url, String(doneA.headers.location), a.digest)).status).toBe(201);
    // A dropped streaming PATCH must give its slot back too.
    const dropped = openRequest(await startUpload(fc, r.url, 'limit/c'), 'PATCH', { ...octet, 'content-length': String(c.size), 'content-range': `0-${c.size - 1}` });
    await dropped.write(c.bytes.subarray(0, 1024));
    await sleep(300);
    dropped.drop();
    const patchB = async () => {
      const res = await patchChunk(fc, locB, 0, b.bytes);
      return { status: res.status, location: res.headers.get('location'), body: await res.text() };
    };
    const okB = await settle(patchB, (x) => x.status !== 429);
    expect(okB.status, okB.body).toBe(202);
    expect((await finishUpload(fc, r.url, okB.location!, b.digest)).status).toBe(201);
    await expectBlob(fc, 'limit/a', a);
    await expectBlob(fc, 'limit/b', b);
  });
});
