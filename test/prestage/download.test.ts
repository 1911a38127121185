/**
 * `reef prestage download` from a reef registry holding a synthetic release (22 components, one
 * in seven a manifest list) into an XFS data partition on a loop device, checked with skopeo:
 * every archive unpacks to a `dir:` directory skopeo accepts, byte for byte what
 * `skopeo copy docker://… dir:…` writes; a second run fetches no image blob; a run killed with
 * SIGKILL resumes; a corrupted blob fails that image only, by name. A proxy in front of the
 * registry counts blob GETs and injects 503s, 429s, cut transfers and delays.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataPartition } from '../../src/ignition/prestage/partition.js';
import { runCommand } from '../../src/ignition/prestage/system.js';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { pushSourceImages, pushSyntheticRelease, type SyntheticRelease } from '../fixtures/synthetic-release.js';
import { type ContainerEnv, makeContainerEnv, mustRun, ok } from '../helpers/containers.js';
import { runReef } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { attachDisk, canUseLoopDevices, detachDisk, type LoopDisk, mountPartition } from './helpers/loop.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';

const enabled = canUseLoopDevices() && requireTool('skopeo') && requireTool('tar');
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const AI = ['quay.io/edge-infrastructure/assisted-installer-agent:latest', 'quay.io/edge-infrastructure/assisted-installer:latest'];

interface Expected {
  source: string;
  name: string;
  /** What manifest.json must hash to: the digest the name gives (a manifest list's, for list components). */
  digest: string;
  /** Digest of the linux/amd64 image manifest (= digest unless a list; then in `<hex>.manifest.json`). */
  imageDigest: string;
  /** Where the registry holds it, for skopeo. */
  mirror: string;
}

const download = async (proxy: TestProxy, to: string, extra: string[]) => {
  const r = runReef(['prestage', 'download', '--registry', proxy.host, '--to', to, ...extra], {});
  const code = await r.exited;
  return { code, output: r.output(), lines: r.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)) };
};

/** Files skopeo's `--multi-arch all` copy holds for the list's platforms other than linux/amd64: instance manifests and their blobs. */
const otherPlatformFiles = (dir: string) => {
  const list = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { manifests: { digest: string; platform: { architecture: string } }[] };
  return list.manifests
    .filter((m) => m.platform.architecture !== 'amd64')
    .flatMap((m) => {
      const file = `${m.digest.slice(7)}.manifest.json`;
      const doc = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
      return [file, ...[doc.config, ...doc.layers].map((b) => b.digest.slice(7))];
    });
};

const tgzFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tgz')).sort();
const stats = (dir: string) => Object.fromEntries(tgzFiles(dir).map((f) => [f, { ino: statSync(join(dir, f)).ino, mtimeMs: statSync(join(dir, f)).mtimeMs }]));

/** Files of a directory with the sha256 of each. */
const tree = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, sha256(readFileSync(join(dir, f)))]));

describe.skipIf(!enabled)('reef prestage download into a data partition', () => {
  let reef: TestReef;
  let proxy: TestProxy;
  let work: string;
  let disk: LoopDisk | undefined;
  let mnt: string;
  let release: SyntheticRelease;
  let expected: Expected[];
  let containers: ContainerEnv;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'reef-precache-'));
    containers = makeContainerEnv(join(work, 'containers'));
    reef = await startTestReef();
    const host = new URL(reef.url).host;
    proxy = await startProxy(reef.url);
    release = await pushSyntheticRelease({ registry: host, version: '4.19.7', components: 22, imageBytes: 256 * 1024, layersPerImage: 2, listEvery: 7 });
    const ai = (await pushSourceImages(createOciClient({ registry: host }), host, AI, 128 * 1024)).map((i) => ({
      ...i,
      name: i.source.slice(i.source.lastIndexOf('/') + 1).replace(':', '_'),
      imageDigest: i.digest,
    }));
    writeFileSync(join(work, 'ai-images.txt'), `# discovery\n${AI.join('\n')}\n`);
    expected = [
      ...ai,
      { source: `quay.io/openshift-release-dev/ocp-release:${release.releaseTag}`, name: `ocp-release_${release.releaseTag}`, digest: release.releaseDigest, imageDigest: release.releaseDigest, mirror: `${host}/${release.releaseRepo}:${release.releaseTag}` },
      ...release.components.map((c) => ({ source: c.source, name: c.source.slice(c.source.lastIndexOf('/') + 1).replace(':', '_'), digest: c.digest, imageDigest: c.imageDigest, mirror: `${host}/${c.repo}@${c.digest}` })),
    ];

    disk = await attachDisk(work, 'disk.img', '4G');
    const part = await createDataPartition({ device: disk.dev, size: 2 * 2 ** 30, run: runCommand }); // the agent's call: run only
    mnt = join(work, 'mnt');
    await mountPartition(disk, part.partition, mnt);
  }, 300_000);

  afterAll(async () => {
    await proxy?.close();
    await reef?.stop();
    await detachDisk(disk);
    rmSync(work, { recursive: true, force: true });
  });

  it('writes one dir-format tgz per image and the lists, through 503s, 429s and cut transfers', async () => {
    const dest = join(mnt, 'images');
    const bigLayer = JSON.parse(readFileSync(join(reef.dataDir, 'registry', 'blobs', 'sha256', release.components[3]!.imageDigest.slice(7)), 'utf8')).layers[0].digest;
    const hits = new Map<string, number>();
    proxy.decide = (method, path) => {
      if (method !== 'GET') return 'pass';
      const n = (hits.get(path) ?? 0) + 1;
      hits.set(path, n);
      if (path.endsWith(bigLayer) && n === 1) return 'drop-half';
      if (path.includes('/blobs/') && n === 1 && hits.size % 5 === 0) return { status: 503 };
      if (path.includes('/manifests/') && n === 1 && hits.size % 7 === 0) return { status: 429 };
      return 'pass';
    };
    const r = await download(proxy, dest, ['--release', '4.19.7', '--ai-images', join(work, 'ai-images.txt'), '-p', '4']);
    proxy.decide = () => 'pass';
    expect(r.code, r.output).toBe(0);
    // The faults happened, and the cut layer was resumed with a Range request.
    expect(proxy.log.some((l) => typeof l.fault === 'object')).toBe(true);
    expect(proxy.log.some((l) => l.path.endsWith(bigLayer) && l.range && /^bytes=[1-9]\d*-$/.test(l.range))).toBe(true);

    expect(tgzFiles(dest)).toEqual(expected.map((e) => `${e.name}.tgz`).sort());
    expect(readdirSync(dest).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(readFileSync(join(dest, 'ai-images.txt'), 'utf8')).toBe(AI.map((a) => `${a}\n`).join(''));
    expect(readFileSync(join(dest, 'ocp-images.txt'), 'utf8').trim().split('\n').sort()).toEqual(expected.slice(2).map((e) => e.source).sort());
    expect(readFileSync(join(dest, 'mapping.txt'), 'utf8').trim().split('\n').sort()).toEqual(
      expected.map((e) => `${e.source}=${e.mirror.replace(new URL(reef.url).host, proxy.host)}`).sort(),
    );
    expect(r.lines[0]).toEqual({ plan: { images: 25, bytes: expect.any(Number), to_download: 25, bytes_to_download: expect.any(Number), failed: 0 } });
    const summary = r.lines.find((l) => l.summary)?.summary;
    expect(summary).toMatchObject({ images: 25, skipped: [], failed: [], removed: [] });
    expect(summary.downloaded).toHaveLength(25);
    expect(r.lines.filter((l) => l.state === 'done')).toHaveLength(25);

    for (const e of expected) {
      const out = join(work, 'unpacked', e.name);
      mkdirSync(out, { recursive: true });
      await mustRun('tar', ['-xzf', join(dest, `${e.name}.tgz`), '-C', out]);
      expect(readdirSync(out)).toEqual([e.name]);
      const d = join(out, e.name);
      expect(readFileSync(join(d, 'version'), 'utf8')).toBe('Directory Transport Version: 1.1\n');
      expect(sha256(readFileSync(join(d, 'manifest.json')))).toBe(e.digest);
      if (e.imageDigest !== e.digest) expect(sha256(readFileSync(join(d, `${e.imageDigest.slice(7)}.manifest.json`)))).toBe(e.imageDigest);
      ok(`skopeo copy dir:${e.name}`, await containers.skopeo(['copy', '--quiet', `dir:${d}`, `oci:${join(work, 'oci')}:${e.name.slice(0, 20).replace(/[^a-z0-9]/g, 'x')}`]));
    }
    // Same names and bytes as skopeo's own dir: copy, for a plain image and for a manifest list
    // (skopeo --multi-arch all, less the other platforms' manifests and blobs).
    mkdirSync(join(work, 'skopeo'));
    for (const e of [expected[3]!, expected[2 + 1 + 6]!]) {
      const mine = join(work, 'unpacked', e.name, e.name);
      const theirs = join(work, 'skopeo', e.name);
      const list = e.imageDigest !== e.digest;
      const copy = ['copy', '--quiet', ...(list ? ['--multi-arch', 'all'] : []), '--src-tls-verify=false', `docker://${e.mirror}`, `dir:${theirs}`];
      ok('skopeo copy docker:// dir:', await containers.skopeo(copy));
      const want = tree(theirs);
      for (const f of list ? otherPlatformFiles(theirs) : []) delete want[f];
      expect(tree(mine)).toEqual(want);
    }
    expect(expected[2 + 1 + 6]!.imageDigest).not.toBe(expected[2 + 1 + 6]!.digest);
  }, 300_000);

  it('a second run fetches no image blob, leaves every archive untouched and, with --rm-stale, removes what no list names', async () => {
    const dest = join(mnt, 'images');
    const before = stats(dest);
    writeFileSync(join(dest, 'old-image_1.0.tgz'), 'stale');
    proxy.log.length = 0;
    const r = await download(proxy, dest, ['--release', '4.19.7', '--ai-images', join(work, 'ai-images.txt'), '--rm-stale']);
    expect(r.code, r.output).toBe(0);
    const summary = r.lines.find((l) => l.summary)?.summary;
    expect(summary).toMatchObject({ downloaded: [], failed: [], removed: ['old-image_1.0'], bytes: 0 });
    expect(summary.skipped).toHaveLength(25);
    expect(stats(dest)).toEqual(before);
    // Only the release image's payload layer is read (to list the components); no image blob.
    const releaseManifest = JSON.parse(readFileSync(join(reef.dataDir, 'registry', 'blobs', 'sha256', release.releaseDigest.slice(7)), 'utf8'));
    expect(proxy.blobGets()).toEqual([releaseManifest.layers.at(-1).digest]);
  }, 120_000);

  it('resumes after being killed with SIGKILL: no .partial left, finished archives untouched', async () => {
    const dest = join(mnt, 'killed');
    proxy.decide = (method, path) => (method === 'GET' && path.includes('/blobs/') ? { delayMs: 60 } : 'pass');
    const run1 = runReef(['prestage', 'download', '--registry', proxy.host, '--to', dest, '--release', '4.19.7', '-p', '1'], {});
    await new Promise<void>((resolve) => {
      void run1.exited.then(() => (clearInterval(timer), resolve())); // finished too soon: the checks below say so
      const timer = setInterval(() => {
        const done = run1.output().split('\n').filter((l) => l.includes('"state":"done"')).length;
        // Kill while an archive is being written (each takes ≥ 180 ms with the delayed blobs).
        if (done >= 3 && existsSync(dest) && readdirSync(dest).some((f) => f.endsWith('.tgz.partial'))) {
          clearInterval(timer);
          run1.child.kill('SIGKILL');
          resolve();
        }
      }, 5);
    });
    await run1.exited;
    proxy.decide = () => 'pass';
    const finished = stats(dest);
    expect(Object.keys(finished).length).toBeGreaterThanOrEqual(3);
    expect(Object.keys(finished).length).toBeLessThan(23);
    expect(readdirSync(dest).some((f) => f.endsWith('.tgz.partial'))).toBe(true);

    const r = await download(proxy, dest, ['--release', '4.19.7']);
    expect(r.code, r.output).toBe(0);
    expect(readdirSync(dest).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(tgzFiles(dest)).toHaveLength(23);
    const after = stats(dest);
    for (const [f, st] of Object.entries(finished)) expect(after[f], f).toEqual(st);
    const summary = r.lines.find((l) => l.summary)?.summary;
    expect(summary.skipped.length).toBe(Object.keys(finished).length);
    for (const e of expected.slice(2)) {
      const listing = await mustRun('tar', ['-xzOf', join(dest, `${e.name}.tgz`), `${e.name}/manifest.json`]);
      expect(sha256(Buffer.from(listing)), e.name).toBe(e.digest);
    }
  }, 180_000);

  it('fails an image whose blob the registry serves corrupted: named, exit 1, no archive for it, the rest done', async () => {
    const victim = expected[5]!;
    const manifest = JSON.parse(readFileSync(join(reef.dataDir, 'registry', 'blobs', 'sha256', victim.imageDigest.slice(7)), 'utf8'));
    const layer = join(reef.dataDir, 'registry', 'blobs', 'sha256', manifest.layers[0].digest.slice(7));
    writeFileSync(layer, randomBytes(statSync(layer).size));
    const dest = join(mnt, 'tampered');
    const r = await download(proxy, dest, ['--release', '4.19.7', '--ai-images', join(work, 'ai-images.txt')]);
    expect(r.code).toBe(1);
    expect(r.output).toContain(`reef: failed: ${victim.source}: digest mismatch for blob ${manifest.layers[0].digest}`);
    expect(existsSync(join(dest, `${victim.name}.tgz`))).toBe(false);
    expect(readdirSync(dest).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(tgzFiles(dest)).toHaveLength(24);
    expect(r.lines.find((l) => l.summary)?.summary.failed).toEqual([{ image: victim.source, error: expect.stringContaining('digest mismatch') }]);
  }, 180_000);
});
