/**
 * Release artifact extraction against real registries: a multi-arch synthetic release in Debian's
 * docker-registry (read over HTTP), and a single-arch one in reef's own registry (read in process
 * through the storage, as the server does). Files checked with sha256sum, the stamps read back
 * as the binaries themselves read them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/controller/config.js';
import { openDb } from '../../src/db/client.js';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { createEmbeddedRegistry } from '../../src/registry/wire.js';
import { extractReleaseArtifacts, imageSourceFromClient, PLACEHOLDERS, type ReleaseArtifact } from '../../src/releases/extract/index.js';
import { pushToolRelease, type ToolRelease } from '../fixtures/tool-release.js';
import { startTestReef } from '../helpers/server.js';
import { requireAvailable, requireTool } from '../helpers/tools.js';
import { DISTRIBUTION_BIN, type Distribution, startDistribution } from '../registry/helpers/distribution.js';

const run = promisify(execFile);
const ready = requireTool('xorriso') && requireTool('zstd') && requireTool('sha256sum') && requireAvailable('docker-registry', statSync(DISTRIBUTION_BIN, { throwIfNoEntry: false })?.isFile() ?? false);

/** The value stamped at a `#STAMP-<tag>:` line, read the way the stand-in installer reads its own. */
const stampIn = async (file: string, tag: string) =>
  (await run('sh', ['-c', `grep -a '^#STAMP-${tag}:' "$1" | cut -d: -f2- | tr '\\0' '\\n' | head -n1`, 'sh', file])).stdout.trim();

/** The file equals `original` except where a placeholder was overwritten by `value` and a NUL. */
const expectStampedCopy = (file: string, original: Buffer, stamps: [keyof typeof PLACEHOLDERS, string][]) => {
  const want = Buffer.from(original);
  for (const [field, value] of stamps) {
    const at = want.indexOf(PLACEHOLDERS[field]);
    expect(at).toBeGreaterThan(0);
    Buffer.from(`${value}\0`).copy(want, at);
  }
  expect(readFileSync(file).equals(want)).toBe(true);
};

const byName = (list: ReleaseArtifact[]) => Object.fromEntries(list.map((a) => [a.name, a]));

describe.runIf(ready)('release artifacts from a multi-arch release in docker-registry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-extract-'));
  let dist: Distribution;
  let release: ToolRelease;

  beforeAll(async () => {
    dist = await startDistribution();
    release = await pushToolRelease({ registry: dist.host, plainHttp: true, version: '4.21.0', arches: ['x86_64', 'aarch64'], dir: join(dir, 'build') });
  }, 180_000);
  afterAll(async () => {
    await dist?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes both arches side by side, each file as its layers leave it, sha256sum-checked, the release stamped in', async () => {
    const source = imageSourceFromClient(createOciClient({ registry: dist.host, plainHttp: true }));
    const artifactPath = join(dir, 'artifacts');
    const pullspecRepo = 'quay.io/openshift-release-dev/ocp-release';
    const progress: string[] = [];
    const results = [];
    for (const arch of ['x86_64', 'aarch64'] as const) {
      results.push(await extractReleaseArtifacts({ source, repo: release.repo, reference: release.tag, arch, artifactPath, pullspecRepo, onProgress: (p) => progress.push(`${p.phase}:${p.component ?? ''}`) }));
    }
    for (const [i, arch] of (['x86_64', 'aarch64'] as const).entries()) {
      const r = results[i]!;
      expect(r.dir).toBe(join(artifactPath, '4.21.0', arch));
      expect(r.pullspec).toBe(`${pullspecRepo}@${release.digest}`);
      const got = byName(r.artifacts);
      const cross = `openshift-install-linux-${arch === 'x86_64' ? 'arm64' : 'amd64'}`;
      const crossOc = cross.replace('openshift-install', 'oc');
      expect(Object.keys(got).sort()).toEqual(['coreos.iso', 'oc', 'oc-mac', 'oc-mac-arm64', 'oc.exe', 'openshift-install', 'openshift-install-mac', cross, crossOc].sort());
      // The whiteout in installer-artifacts' second layer removed the mac arm64 installer.
      expect(r.missing.map((m) => m.name)).toEqual(['openshift-install-mac-arm64']);
      const { stdout } = await run('sha256sum', ['-c', 'sha256sum.txt'], { cwd: r.dir });
      expect(stdout.trim().split('\n').sort()).toEqual(Object.keys(got).map((n) => `${n}: OK`).sort());
      const want = release.expected[arch]!;
      // coreos.iso for this arch, byte for byte; oc through the symlink of the zstd layer; oc.exe past the opaque whiteout.
      expect(readFileSync(got['coreos.iso']!.path).equals(want['coreos.iso']!)).toBe(true);
      const platform = `multi (linux/${arch === 'x86_64' ? 'amd64' : 'arm64'})`;
      expectStampedCopy(got['openshift-install']!.path, want['openshift-install']!, [['releaseImage', r.pullspec], ['releaseVersion', '4.21.0'], ['releaseArchitecture', platform]]);
      expectStampedCopy(got[cross]!.path, want[cross]!, [['releaseImage', r.pullspec], ['releaseVersion', '4.21.0'], ['releaseArchitecture', platform]]);
      expectStampedCopy(got.oc!.path, want.oc!, [['releaseVersion', '4.21.0']]);
      expectStampedCopy(got[crossOc]!.path, want[crossOc]!, [['releaseVersion', '4.21.0']]);
      expectStampedCopy(got['oc.exe']!.path, want['oc.exe']!, [['releaseVersion', '4.21.0']]);
      expect(readFileSync(got['oc-mac-arm64']!.path).equals(want['oc-mac-arm64']!)).toBe(true);
      expect(await stampIn(got['openshift-install']!.path, 'IMAGE')).toBe(r.pullspec);
      expect(await stampIn(got['openshift-install']!.path, 'ARCH')).toBe(platform);
      expect((await run(got.oc!.path, ['version', '--client'])).stdout).toContain(`synthetic oc for linux/${arch}`);
      expect(statSync(got.oc!.path).mode & 0o777).toBe(0o755);
      expect(got['openshift-install']!.stamped.sort()).toEqual(['releaseArchitecture', 'releaseImage', 'releaseVersion']);
    }
    expect(progress).toContain('component:machine-os-images');
    expect(progress.at(-1)).toBe('done:');
  }, 120_000);

  it('keeps identical files on a second run, and replaces (by rename) a file that differs', async () => {
    const source = imageSourceFromClient(createOciClient({ registry: dist.host, plainHttp: true }));
    const artifactPath = join(dir, 'again');
    const o = { source, repo: release.repo, reference: release.tag, arch: 'x86_64' as const, artifactPath, pullspecRepo: 'quay.io/openshift-release-dev/ocp-release' };
    const first = byName((await extractReleaseArtifacts(o)).artifacts);
    const inode = statSync(first['coreos.iso']!.path).ino;
    const second = byName((await extractReleaseArtifacts({ ...o, pullspecRepo: 'mirror.example:5000/openshift/release' })).artifacts);
    expect(statSync(second['coreos.iso']!.path).ino).toBe(inode);
    expect(second['openshift-install']!.sha256).not.toBe(first['openshift-install']!.sha256);
    expect(await stampIn(second['openshift-install']!.path, 'IMAGE')).toBe(`mirror.example:5000/openshift/release@${release.digest}`);
  }, 120_000);

  it('refuses an arch the release does not have, naming what it has', async () => {
    const source = imageSourceFromClient(createOciClient({ registry: dist.host, plainHttp: true }));
    await expect(extractReleaseArtifacts({ source, repo: release.repo, reference: release.tag, arch: 's390x', artifactPath: join(dir, 'none'), pullspecRepo: 'x.example/r' })).rejects.toThrow(/no image for linux\/s390x.*amd64, arm64/);
  });
});

/** Every file under `dir`, recursively. */
const filesUnder = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));

describe.runIf(ready)('release artifacts: a damaged blob, an abort', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-extract-bad-'));
  let dist: Distribution;
  let release: ToolRelease;

  beforeAll(async () => {
    dist = await startDistribution({ root: join(dir, 'registry') });
    release = await pushToolRelease({ registry: dist.host, plainHttp: true, version: '4.19.9', arches: ['x86_64'], dir: join(dir, 'build') });
  }, 180_000);
  afterAll(async () => {
    await dist?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops at the first component when aborted, leaving no temp file', async () => {
    const source = imageSourceFromClient(createOciClient({ registry: dist.host, plainHttp: true }));
    const abort = new AbortController();
    const artifactPath = join(dir, 'aborted');
    const run = extractReleaseArtifacts({
      source, repo: release.repo, reference: release.tag, arch: 'x86_64', artifactPath, pullspecRepo: 'r.example/x', signal: abort.signal,
      onProgress: (p) => p.component === 'cli-artifacts' && abort.abort(new Error('reset by the operator')),
    });
    await expect(run).rejects.toThrow(/reset by the operator/);
    const names = filesUnder(artifactPath).map((f) => f.slice(artifactPath.length + 1)).sort();
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(names).not.toContain('4.19.9/x86_64/coreos.iso');
  });

  it('refuses a layer whose bytes do not match its digest, and writes nothing from it', async () => {
    // The largest blob is machine-os-images' layer (the ISO): one byte changed on the registry's disk.
    const blobs = filesUnder(join(dir, 'registry', 'docker', 'registry', 'v2', 'blobs'));
    const largest = blobs.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    const fd = openSync(largest, 'r+');
    writeSync(fd, Buffer.from([0x42]), 0, 1, Math.floor(statSync(largest).size / 2));
    closeSync(fd);
    const source = imageSourceFromClient(createOciClient({ registry: dist.host, plainHttp: true, retries: 0 }));
    const artifactPath = join(dir, 'damaged');
    await expect(extractReleaseArtifacts({ source, repo: release.repo, reference: release.tag, arch: 'x86_64', artifactPath, pullspecRepo: 'r.example/x' })).rejects.toThrow(/digest|hash/);
    const names = filesUnder(artifactPath).map((f) => f.slice(artifactPath.length + 1));
    expect(names.filter((n) => n.endsWith('.tmp') || n.endsWith('coreos.iso'))).toEqual([]);
  });
});

describe.runIf(ready)("release artifacts from reef's own registry, read in process", () => {
  it('extracts a single-arch release through the registry storage (what the server uses)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-extract-own-'));
    try {
      const reef = await startTestReef({}, join(dir, 'data'));
      let release: ToolRelease;
      try {
        release = await pushToolRelease({ registry: new URL(reef.url).host, plainHttp: true, version: '4.20.3', arches: ['aarch64'], dir: join(dir, 'build') });
      } finally {
        await reef.stop();
      }
      const config = loadConfig({ REEF_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent' } as NodeJS.ProcessEnv);
      const opened = openDb(config.dataDir);
      const registry = await createEmbeddedRegistry({ config: { ...config.registry, gcIntervalMs: 0, scrubIntervalMs: 0 }, db: opened.db, sqlite: opened.sqlite, metrics: new Registry(), log: pino({ level: 'silent' }), now: Date.now });
      try {
        const r = await extractReleaseArtifacts({ source: registry.images, repo: release.repo, reference: release.tag, arch: 'aarch64', artifactPath: join(dir, 'artifacts'), pullspecRepo: 'reef.example/openshift/release' });
        expect(r.dir).toBe(join(dir, 'artifacts', '4.20.3', 'aarch64'));
        expect(r.artifacts.map((a) => a.name).sort()).toContain('openshift-install');
        await run('sha256sum', ['-c', 'sha256sum.txt'], { cwd: r.dir });
        expect(await stampIn(join(r.dir, 'openshift-install'), 'ARCH')).toBe('linux/arm64');
        await expect(extractReleaseArtifacts({ source: registry.images, repo: release.repo, reference: release.tag, arch: 'x86_64', artifactPath: join(dir, 'artifacts'), pullspecRepo: 'r.example/x' })).rejects.toThrow(/for linux\/arm64, not for x86_64/);
      } finally {
        registry.stop();
        opened.sqlite.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
