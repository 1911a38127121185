/**
 * reef mirror's three flows against real registries on 127.0.0.1: an upstream (Debian's
 * docker-registry behind a token front issuing 2-second tokens, answering 503 and cutting a blob
 * now and then) holding a synthetic release and an additional image; fresh reefs as destinations.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { pushImage, pushSyntheticRelease, randomLayers, type SyntheticRelease } from '../fixtures/synthetic-release.js';
import { reefResult } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { type Distribution, DISTRIBUTION_BIN, startDistribution } from '../registry/helpers/distribution.js';
import { startTokenFront, type TokenFront } from '../registry/helpers/token-front.js';

const ok = requireTool(DISTRIBUTION_BIN);

describe.runIf(ok)('reef mirror: mirror-to-registry, mirror-to-disk, disk-to-registry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-mirror-'));
  let upstream: Distribution;
  let front: TokenFront;
  let release: SyntheticRelease;
  let toolDigest: string;
  const reefs: TestReef[] = [];
  let isc: string;
  let authfile: string;

  beforeAll(async () => {
    upstream = await startDistribution();
    front = await startTokenFront({ upstream: upstream.url, users: { mirror: 's3cret-pass' }, tokenLifeMs: 2000 });
    release = await pushSyntheticRelease({ registry: upstream.host, plainHttp: true, version: '4.19.7', components: 12, imageBytes: 256 * 1024, listEvery: 5, sourceHost: front.host, releaseRepo: 'openshift-release-dev/ocp-release' });
    const tool = await pushImage(createOciClient({ registry: upstream.host, plainHttp: true }), 'acme/tool', '1.0', randomLayers('tool', 300 * 1024, 2), 'amd64');
    toolDigest = tool.digest;
    authfile = join(dir, 'auth.json');
    writeFileSync(authfile, JSON.stringify({ auths: { [front.host]: { auth: Buffer.from('mirror:s3cret-pass').toString('base64') } } }));
    isc = join(dir, 'isc.yaml');
    writeFileSync(
      isc,
      [
        'kind: ImageSetConfiguration',
        'apiVersion: mirror.openshift.io/v2alpha1',
        'archiveSize: 1',
        'mirror:',
        '  platform:',
        `    release: ${front.host}/openshift-release-dev/ocp-release:4.19.7-x86_64`,
        '  additionalImages:',
        `  - name: ${front.host}/acme/tool:1.0`,
        '',
      ].join('\n'),
    );
  }, 120_000);
  let upstreamStopped = false;
  afterAll(async () => {
    for (const r of reefs) await r.stop();
    if (!upstreamStopped) {
      await front?.close();
      await upstream?.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const digestAt = async (reef: TestReef, repo: string, ref: string) => {
    const res = await reef.req(`/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
    return res.status === 200 ? res.headers.get('docker-content-digest') : `HTTP ${res.status}`;
  };
  const expectMirrored = async (reef: TestReef, ns: string) => {
    expect(await digestAt(reef, `${ns}/openshift/release-images`, '4.19.7-x86_64')).toBe(release.releaseDigest);
    for (const c of release.components) expect(await digestAt(reef, `${ns}/openshift/release`, `4.19.7-x86_64-${c.name}`), c.name).toBe(c.digest);
    expect(await digestAt(reef, `${ns}/acme/tool`, '1.0')).toBe(toolDigest);
  };

  it('mirror-to-registry: every digest identical at the destination, through token expiry, a 503 and a 429; IDMS/ITMS written', async () => {
    const reef = await startTestReef();
    reefs.push(reef);
    front.inject((m, p) => m === 'GET' && /\/manifests\//.test(p), { status: 503 });
    front.inject((m, p) => m === 'GET' && /\/manifests\//.test(p), { status: 429, retryAfter: '1' });
    const ws = join(dir, 'ws');
    const r = await reefResult(['mirror', '-c', isc, `docker://${new URL(reef.url).host}/mirror`, '--workspace', `file://${ws}`, '--authfile', authfile, '--v2', '--retry-delay', '100ms'], { XDG_RUNTIME_DIR: join(dir, 'none') });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectMirrored(reef, 'mirror');
    expect(front.tokenRequests.filter((t) => t.ok).length).toBeGreaterThan(1);
    expect(front.requests.filter((q) => q.fault).map((q) => q.fault)).toEqual(['503', '429']);
    const idms = readFileSync(join(ws, 'working-dir/cluster-resources/idms-oc-mirror.yaml'), 'utf8');
    expect(idms).toContain('kind: ImageDigestMirrorSet');
    expect(idms).toContain(`source: ${front.host}/openshift-release-dev/ocp-v4.0-art-dev`);
    expect(idms).toContain(`- ${new URL(reef.url).host}/mirror/openshift/release`);
    const out = r.stdout + r.stderr;
    for (const secret of ['s3cret-pass', ...front.issued]) expect(out).not.toContain(secret);
  }, 180_000);

  it('mirror-to-registry: a source connection cut mid-blob resumes with a Range request, and the run does not stall', async () => {
    const reef = await startTestReef();
    reefs.push(reef);
    const before = front.requests.length;
    // The first component blob answer longer than 100 KiB is cut; the smaller ones before it (configs) pass whole.
    const cutAt = 100 * 1024;
    front.inject((m, p, h) => m === 'GET' && p.includes('/ocp-v4.0-art-dev/blobs/') && h.range === undefined, { cutAfter: cutAt });
    // The run's own clock: a stall (a request waiting out the client's 60 s idle timeout) fails an image instead of passing slowly.
    const r = await reefResult(
      ['mirror', '-c', isc, `docker://${new URL(reef.url).host}/cut`, '--workspace', `file://${join(dir, 'ws-cut')}`, '--authfile', authfile, '--v2', '--retry-delay', '100ms', '--image-timeout', '20s'],
      { XDG_RUNTIME_DIR: join(dir, 'none') },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectMirrored(reef, 'cut');
    const mine = front.requests.slice(before);
    const cut = mine.filter((q) => q.fault);
    expect(cut.map((q) => q.fault)).toEqual([`cut after ${cutAt}`]);
    const resumed = mine.filter((q) => q.method === 'GET' && q.path === cut[0]!.path && q.range !== undefined && q.token === 'valid');
    expect(resumed.map((q) => [q.range, q.status])).toEqual([[expect.stringMatching(/^bytes=[1-9]\d*-$/), 206]]);
  }, 180_000);

  it('mirror-to-disk, then disk-to-registry with the upstream stopped: every digest identical', async () => {
    const disk = join(dir, 'disk');
    const m2d = await reefResult(['mirror', '-c', isc, `file://${disk}`, '--authfile', authfile, '--retry-delay', '100ms'], { XDG_RUNTIME_DIR: join(dir, 'none') });
    expect(m2d.code, m2d.stdout + m2d.stderr).toBe(0);
    const files = readdirSync(disk);
    expect(files.filter((f) => /^mirror_\d{6}\.tar$/.test(f)).length).toBeGreaterThan(0);
    expect(files).toContain('SHA256SUMS');
    expect(files.some((f) => f.endsWith('.partial'))).toBe(false);

    await front.close();
    await upstream.stop();
    upstreamStopped = true;
    const reef = await startTestReef();
    reefs.push(reef);
    const d2m = await reefResult(['mirror', '-c', isc, '--from', `file://${disk}`, `docker://${new URL(reef.url).host}/site`, '--v2']);
    expect(d2m.code, d2m.stdout + d2m.stderr).toBe(0);
    await expectMirrored(reef, 'site');
    expect(readFileSync(join(disk, 'working-dir/cluster-resources/idms-oc-mirror.yaml'), 'utf8')).toContain(`- ${new URL(reef.url).host}/site/openshift/release`);
  }, 180_000);
});
