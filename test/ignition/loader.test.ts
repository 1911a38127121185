/**
 * The on-node loader (src/ignition/precache/load-images.sh) run for real: podman and skopeo with
 * vfs storage in a temp dir; a directory standing in for the data partition (--no-mount), and a
 * real GPT partition on a loop device found by its partlabel.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loaderScriptFile } from '../../src/ignition/precache/loader-script.js';
import { type ContainerEnv, makeContainerEnv, ok, run } from '../helpers/containers.js';
import { requireTool } from '../helpers/tools.js';
import { linkPartlabel } from '../prestage/helpers/loop.js';
import { buildOciLayout, type FixtureImage } from '../registry/fixtures/oci-image.js';

const haveTools = () => ['podman', 'skopeo', 'tar', 'bash'].every((t) => requireTool(t));

describe('pre-cache loader script', () => {
  let tmp: string;
  let env: ContainerEnv;
  let part: string;
  const images: { ref: string; fixture: FixtureImage }[] = [];
  let enabled = false;

  /**
   * Puts an image on the stand-in partition the way the downloader does (skopeo copy to dir:,
   * then tar czf); `archive` names the tgz, given the fixture (a digest reference needs it).
   */
  const stage = async (key: string, tag: string, archive: (f: FixtureImage) => string, into = part) => {
    const fixture = await buildOciLayout(join(tmp, 'oci', key), tag);
    const name = archive(fixture).replace(/\.tgz$/, '');
    ok('skopeo copy', await env.skopeo(['copy', '--quiet', `oci:${fixture.dir}:${tag}`, `dir:${join(into, name)}`]));
    ok('tar czf', await run('tar', ['czf', join(into, `${name}.tgz`), '-C', into, name]));
    rmSync(join(into, name), { recursive: true });
    return fixture;
  };
  const hex = (f: FixtureImage) => f.manifestDigest.slice('sha256:'.length);

  const load = (extra: string[] = []) =>
    env.exec('bash', [loaderScriptFile(), '--list', 'ai-images', '--dir', part, '--no-mount', '--jobs', '2', '--backoff', '0', ...extra], 300_000);

  beforeAll(async () => {
    enabled = haveTools();
    if (!enabled) return;
    tmp = mkdtempSync(join(tmpdir(), 'reef-loader-'));
    env = makeContainerEnv(join(tmp, 'containers'));
    part = join(tmp, 'partition');
    mkdirSync(part);
    const alpha = await stage('alpha', 'latest', () => 'alpha_latest.tgz');
    images.push({ ref: 'quay.io/reef-test/alpha:latest', fixture: alpha });
    // A digest reference: the archive is named beta@sha256_<hex>.tgz.
    const beta = await stage('beta', 'v1', (f) => `beta@sha256_${hex(f)}.tgz`);
    images.push({ ref: `quay.io/reef-test/beta@sha256:${hex(beta)}`, fixture: beta });
    // A registry with a port: only the last path segment names the archive.
    const gamma = await stage('gamma', 'v1.2', () => 'gamma_v1.2.tgz');
    images.push({ ref: 'registry.example.com:5000/ns/gamma:v1.2', fixture: gamma });
    const list = ['# discovery images', ...images.map((i) => i.ref), '', images[0]!.ref].join('\n');
    writeFileSync(join(part, 'ai-images.txt'), `${list}\n`);
  }, 300_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('loads every listed image into containers-storage, then skips them all on a second run', async () => {
    if (!enabled) return;
    const first = await load();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    for (const img of images) {
      const exists = await env.podman(['image', 'exists', img.ref]);
      expect(exists.code, `podman image exists ${img.ref}`).toBe(0);
      const digest = ok('podman inspect', await env.podman(['image', 'inspect', '--format', '{{.Digest}}', img.ref])).trim();
      expect(digest).toBe(img.fixture.manifestDigest);
      expect(first.stdout).toMatch(new RegExp(`\\] ${img.ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: loaded in`));
    }
    expect(first.stdout).toContain('3 loaded, 0 already present, 0 failed, of 3');

    const second = await load();
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain('0 loaded, 3 already present, 0 failed, of 3');
    for (const img of images) expect(second.stdout).toContain(`${img.ref}: already in containers-storage, skipped`);
  });

  it('exits non-zero naming each image it could not load (corrupt archive, missing archive)', async () => {
    if (!enabled) return;
    const corrupt = 'quay.io/reef-test/delta:1.0';
    const missing = 'quay.io/reef-test/epsilon:2.0';
    const good = 'quay.io/reef-test/zeta:3.0';
    await stage('zeta', '3.0', () => 'zeta_3.0.tgz');
    // A truncated gzip stream: what a bad copy onto the partition leaves behind.
    await stage('delta', '1.0', () => 'delta_1.0.tgz');
    const whole = readFileSync(join(part, 'delta_1.0.tgz'));
    writeFileSync(join(part, 'delta_1.0.tgz'), whole.subarray(0, Math.floor(whole.length / 2)));
    writeFileSync(join(part, 'more.txt'), `${corrupt}\n${missing}\n${good}\n`);

    const r = await env.exec('bash', [loaderScriptFile(), '--list', 'more.txt', '--dir', part, '--no-mount', '--attempts', '2', '--backoff', '0'], 300_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${corrupt}: attempt 1/2 failed`);
    expect(r.stderr).toContain(`${corrupt}: attempt 2/2 failed`);
    expect(r.stderr).toMatch(/FAILED to load 2 image\(s\):\n.*\n.*/);
    expect(r.stderr).toContain(`  ${corrupt}`);
    expect(r.stderr).toContain(`  ${missing}`);
    expect(r.stderr).toContain('epsilon_2.0.tgz is missing');
    expect(r.stdout).toContain('1 loaded, 0 already present, 2 failed, of 3');
    expect((await env.podman(['image', 'exists', good])).code).toBe(0);
    expect((await env.podman(['image', 'exists', corrupt])).code).not.toBe(0);
  });

  it('refuses bad usage with exit 2', async () => {
    if (!enabled) return;
    const noList = await env.exec('bash', [loaderScriptFile(), '--dir', part, '--no-mount']);
    expect(noList.code).toBe(2);
    expect(noList.stderr).toContain('--list is required');
    const badJobs = await env.exec('bash', [loaderScriptFile(), '--list', 'ai-images', '--dir', part, '--no-mount', '--jobs', 'x']);
    expect(badJobs.code).toBe(2);
    expect(badJobs.stderr).toContain('--jobs must be a positive integer');
    const noFile = await env.exec('bash', [loaderScriptFile(), '--list', 'ocp-images', '--dir', part, '--no-mount']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain(`image list ${part}/ocp-images.txt not found`);
  });

  it('mounts the partition by partlabel, loads from it and unmounts it; leaves a mounted partition mounted', async () => {
    if (!enabled || !['sgdisk', 'losetup', 'partx', 'mkfs.xfs', 'mount', 'umount', 'mountpoint', 'truncate'].every((t) => requireTool(t))) return;
    // No udev here: the /dev/disk/by-partlabel link udev would make is made by hand.
    const label = `reef-${randomBytes(4).toString('hex')}`;
    let byLabel: ReturnType<typeof linkPartlabel> | undefined;
    const disk = join(tmp, 'disk.img');
    const mnt = join(tmp, 'mnt');
    mkdirSync(mnt);
    ok('truncate', await run('truncate', ['-s', '400M', disk]));
    const dev = ok('losetup', await run('losetup', ['--find', '--show', disk])).trim();
    try {
      ok('sgdisk', await run('sgdisk', ['-n', '1:0:0', '-c', `1:${label}`, dev]));
      ok('partx', await run('partx', ['-u', dev]));
      const p1 = `${dev}p1`;
      ok('mkfs.xfs', await run('mkfs.xfs', ['-q', p1]));
      ok('mount', await run('mount', [p1, mnt]));
      await stage('omega', 'v9', () => 'omega_v9.tgz', mnt);
      writeFileSync(join(mnt, 'ai-images.txt'), 'quay.io/reef-test/omega:v9\n');
      ok('umount', await run('umount', [mnt]));
      byLabel = linkPartlabel(label, p1);
      const { link } = byLabel;

      const args = [loaderScriptFile(), '--list', 'ai-images', '--partlabel', label, '--dir', mnt, '--backoff', '0'];
      const r = await env.exec('bash', args, 300_000);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`mounted ${link} on ${mnt}`);
      expect(r.stdout).toContain('1 loaded, 0 already present, 0 failed, of 1');
      expect(r.stdout).toContain(`unmounted ${mnt}`);
      expect((await env.podman(['image', 'exists', 'quay.io/reef-test/omega:v9'])).code).toBe(0);

      ok('mount', await run('mount', [p1, mnt]));
      const again = await env.exec('bash', args, 300_000);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).not.toContain('mounted');
      expect(again.stdout).toContain('0 loaded, 1 already present');
      expect((await run('mountpoint', ['-q', mnt])).code).toBe(0);
      ok('umount', await run('umount', [mnt]));

      byLabel.remove();
      const missing = await env.exec('bash', [...args, '--wait', '1']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`no partition labelled ${label}`);
    } finally {
      await run('umount', [mnt]);
      byLabel?.remove();
      await run('partx', ['-d', dev]);
      await run('losetup', ['-d', dev]);
    }
  }, 300_000);
});
