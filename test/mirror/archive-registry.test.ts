/**
 * An archive set written by reef is the real distribution layout: extracted with GNU tar into one
 * directory, Debian's docker-registry serves it, and skopeo inspects and copies the images out of
 * it with the digests they were archived with. reef's reader gives the same images back.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openArchiveSet } from '../../src/mirror/archive/reader.js';
import { createArchiveWriter, type ArchiveResult } from '../../src/mirror/archive/writer.js';
import { makeContainerEnv, mustRun, ok, type ContainerEnv } from '../helpers/containers.js';
import { findOnPath, requireAvailable, requireTool } from '../helpers/tools.js';
import { DISTRIBUTION_BIN as DOCKER_REGISTRY, startDistribution, type Distribution } from '../registry/helpers/distribution.js';
import { blobTable, makeImage, makeIndex, makeLayer, type TestImage } from './fixtures/images.js';

const have = requireTool('skopeo') && requireTool('tar') && requireTool('sha256sum') && requireAvailable('Debian docker-registry', findOnPath(DOCKER_REGISTRY));
const ARCHIVE_SIZE = 300 * 1024;
const ISC = 'apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  additionalImages:\n  - name: quay.io/example/one:v1\n';

describe.skipIf(!have)('archives in the distribution layout, served by docker-registry', () => {
  let dir: string;
  let images: TestImage[];
  let result: ArchiveResult;
  let registry: Distribution;
  let tools: ContainerEnv;
  const outDir = () => join(dir, 'out');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reef-archive-'));
    const shared = makeLayer('reg/shared', 120 * 1024);
    const amd = makeImage({ repo: 'multi/arch', seed: 'reg/amd64', layerSizes: [90 * 1024], arch: 'amd64' });
    const arm = makeImage({ repo: 'multi/arch', seed: 'reg/arm64', layerSizes: [110 * 1024], arch: 'arm64' });
    images = [
      makeImage({ repo: 'app/one', tag: 'v1', seed: 'reg/one', layerSizes: [150 * 1024, 60 * 1024], shared: [shared] }),
      makeImage({ repo: 'app/two', tag: 'v2', seed: 'reg/two', layerSizes: [200 * 1024], shared: [shared] }),
      makeIndex('multi/arch', 'latest', [
        { image: amd, arch: 'amd64' },
        { image: arm, arch: 'arm64' },
      ]),
      makeImage({ repo: 'app/untagged', seed: 'reg/untagged', layerSizes: [20 * 1024] }),
    ];
    const blobs = blobTable(images);
    const workingDir = join(dir, 'working-dir');
    mkdirSync(join(workingDir, 'cluster-resources'), { recursive: true });
    writeFileSync(join(workingDir, 'cluster-resources', 'idms-oc-mirror.yaml'), 'kind: ImageDigestMirrorSet\n');
    const writer = await createArchiveWriter({ workingDir, outDir: outDir(), archiveSizeBytes: ARCHIVE_SIZE, imageSetConfig: ISC, now: () => new Date('2025-03-04T05:06:07.890Z') });
    for (const img of images) await writer.addImage(img.input, async (d) => [blobs.get(d)!]);
    result = await writer.finish();
    tools = makeContainerEnv(join(dir, 'tools'));
  });

  afterAll(async () => {
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes several plain-tar chunks no larger than archiveSize, a SHA256SUMS that sha256sum -c accepts, and the history', async () => {
    expect(result.warnings).toEqual([]);
    expect(result.archives.length).toBeGreaterThanOrEqual(3);
    expect(result.archives.map((a) => a.name)).toEqual(result.archives.map((_, i) => `mirror_${String(i + 1).padStart(6, '0')}.tar`));
    for (const a of result.archives) {
      expect(statSync(a.path).size).toBeLessThanOrEqual(ARCHIVE_SIZE);
      expect(readFileSync(a.path).subarray(257, 262).toString()).toBe('ustar'); // plain tar, not compressed
    }
    expect(readdirSync(outDir()).sort()).toEqual([...result.archives.map((a) => a.name), 'SHA256SUMS'].sort());
    const r = await tools.exec('sh', ['-c', `cd '${outDir()}' && sha256sum -c SHA256SUMS`]);
    expect(ok('sha256sum -c', r)).toContain('mirror_000001.tar: OK');
    // The history lists every blob written: manifests (index and children too), configs, layers.
    expect(result.historyFile).toMatch(/working-dir\/\.history\/\.history-2025-03-04T05:06:07Z$/);
    const history = readFileSync(result.historyFile, 'utf8').trim().split('\n');
    const all = new Set(images.flatMap((i) => [...i.manifests.keys(), ...i.blobs.map((b) => b.digest)]));
    expect(new Set(history)).toEqual(all);
    expect(result.blobs.sort()).toEqual([...all].sort());
  });

  it('lays members out as oc-mirror does: repositories, then blobs, then working-dir, then isc_<time>; regular files only', async () => {
    const listing: string[] = [];
    for (const a of result.archives) {
      const out = await mustRun('tar', ['-tvf', a.path]);
      for (const line of out.trim().split('\n')) {
        expect(line.startsWith('-rw-r--r--')).toBe(true);
        listing.push(line.split(/\s+/).slice(5).join(' '));
      }
    }
    const area = (p: string) => (p.startsWith('docker/registry/v2/repositories/') ? 0 : p.startsWith('docker/registry/v2/blobs/') ? 1 : p.startsWith('working-dir/') ? 2 : p.startsWith('isc_') ? 3 : 9);
    expect(listing.map(area)).toEqual([...listing.map(area)].sort());
    expect(listing).toContain('working-dir/cluster-resources/idms-oc-mirror.yaml');
    expect(listing.at(-1)).toBe('isc_2025-03-04T05:06:07Z');
    expect(listing.filter((p) => p.includes('.reef'))).toEqual([]);
    const one = images[0]!;
    expect(listing).toContain(`docker/registry/v2/repositories/app/one/_manifests/tags/v1/current/link`);
    expect(listing).toContain(`docker/registry/v2/repositories/app/one/_manifests/tags/v1/index/sha256/${one.digest.slice(7)}/link`);
    expect(listing).toContain(`docker/registry/v2/repositories/app/one/_manifests/revisions/sha256/${one.digest.slice(7)}/link`);
    expect(listing).toContain(`docker/registry/v2/repositories/app/one/_layers/sha256/${one.blobs[1]!.digest.slice(7)}/link`);
    expect(listing).toContain(`docker/registry/v2/blobs/sha256/${one.digest.slice(7, 9)}/${one.digest.slice(7)}/data`);
  });

  it('extracted with GNU tar, docker-registry serves every image by tag and by digest with the archived digests', async () => {
    const root = join(dir, 'extracted');
    mkdirSync(root);
    for (const a of result.archives) await mustRun('tar', ['-xf', a.path, '-C', root]);
    const one = images[0]!;
    // A link file is the digest with no newline, as distribution writes it.
    expect(readFileSync(join(root, 'docker/registry/v2/repositories/app/one/_manifests/tags/v1/current/link'), 'latin1')).toBe(one.digest);
    registry = await startDistribution({ root });
    // --no-tags: distribution answers 404 to a tag list of a repository with no tags (app/untagged).
    const inspect = async (ref: string, raw = false) =>
      ok(`skopeo inspect ${ref}`, await tools.skopeo(['inspect', ...(raw ? ['--raw'] : ['--no-tags']), '--tls-verify=false', `docker://${registry.host}/${ref}`]));
    for (const img of images) {
      const refs = [`${img.repo}@${img.digest}`, ...(img.tag ? [`${img.repo}:${img.tag}`] : [])];
      for (const ref of refs) {
        expect(Buffer.from(await inspect(ref, true))).toEqual(img.manifest);
        const info = JSON.parse(await inspect(ref)) as { Digest: string; Layers: string[]; Architecture: string };
        expect(info.Digest).toBe(img.digest);
        // For an index skopeo reads this machine's platform: the amd64 child here (the first), arm64 the second.
        const child = img.input.children?.[process.arch === 'arm64' ? 1 : 0];
        const layers = child ? (JSON.parse(Buffer.from(child.manifest.bytes).toString()) as { layers: { digest: string }[] }).layers.map((l) => l.digest) : img.blobs.slice(1).map((b) => b.digest);
        expect(info.Architecture).toBe(child ? (process.arch === 'arm64' ? 'arm64' : 'amd64') : 'amd64');
        expect(info.Layers).toEqual(layers);
      }
    }
    const tags = (await (await fetch(`http://${registry.host}/v2/multi/arch/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['latest']);
  });

  it('skopeo copies images out of it to dir: with every blob verified', async () => {
    const one = images[0]!;
    const dest = join(dir, 'copied-one');
    ok('skopeo copy', await tools.skopeo(['copy', '--src-tls-verify=false', `docker://${registry.host}/app/one:v1`, `dir:${dest}`]));
    expect(readFileSync(join(dest, 'manifest.json'))).toEqual(one.manifest);
    for (const b of one.blobs) expect(readFileSync(join(dest, b.digest.slice(7))).equals(b.bytes)).toBe(true); // (equals: toEqual walks bytes one by one)
    const multi = images[2]!;
    const destAll = join(dir, 'copied-multi');
    ok('skopeo copy --all', await tools.skopeo(['copy', '--all', '--src-tls-verify=false', `docker://${registry.host}/multi/arch:latest`, `dir:${destAll}`]));
    expect(readFileSync(join(destAll, 'manifest.json'))).toEqual(multi.manifest);
    for (const b of multi.blobs) expect(existsSync(join(destAll, b.digest.slice(7)))).toBe(true);
  });

  it('reef reads the set back: images with tags, children before their index, blobs streamed and verified', async () => {
    const set = await openArchiveSet(outDir());
    expect(set.chunks.map((c) => c.name)).toEqual(result.archives.map((a) => a.name));
    expect(set.imageSetConfig).toBe('isc_2025-03-04T05:06:07Z');
    expect(set.workingDirFiles).toEqual(['cluster-resources/idms-oc-mirror.yaml']);
    const chunks: Buffer[] = [];
    for await (const c of set.openMember('isc_2025-03-04T05:06:07Z')) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(ISC);
    const got = set.images.map((i) => ({ repo: i.repo, digest: i.digest, tags: i.tags }));
    const want = images.flatMap((img) => [
      ...(img.input.children ?? []).map((c) => ({ repo: img.repo, digest: c.manifest.digest, tags: [] as string[] })),
      { repo: img.repo, digest: img.digest, tags: img.tag ? [img.tag] : [] },
    ]);
    expect(new Set(got.map((g) => JSON.stringify(g)))).toEqual(new Set(want.map((w) => JSON.stringify(w))));
    const multi = set.images.filter((i) => i.repo === 'multi/arch');
    expect(multi.at(-1)!.kind).toBe('index'); // children first: the order to push them in
    for (const img of set.images) {
      const test = images.find((t) => t.manifests.has(img.digest))!;
      expect(img.manifest).toEqual(test.manifests.get(img.digest));
      for (const ref of img.references) expect(set.hasBlob(ref)).toBe(true);
    }
    for (const [digest, bytes] of blobTable(images)) {
      const parts: Buffer[] = [];
      for await (const c of set.openBlob(digest)) parts.push(c as Buffer);
      expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    }
  });
});
