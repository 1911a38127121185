/**
 * Factory pre-staging end to end, with the real pieces as an operator and a node run them:
 * reef's registry holds a small synthetic release and two discovery images; `reef prestage
 * partition` makes the data partition at the end of a sparse loop disk; `reef prestage download`
 * fills it; then the loader script, installed from the discovery and pointer overrides that
 * `reef ignition discovery|pointer` print and started with their ExecStart= arguments, mounts the
 * partition by partlabel itself and loads every listed image into containers-storage (podman and
 * skopeo with vfs storage in a temp dir). Checked: each listed name exists in podman with the
 * manifest digest and image ID the registry serves; a second run skips everything; a truncated
 * tgz fails that image only, by name, with a non-zero exit.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDataUrl } from '../../src/ignition/data-url.js';
import { STAGES, type OverrideStage } from '../../src/ignition/overrides/overrides.js';
import { createOciClient, type OciClient } from '../../src/registry/client/oci-client.js';
import { pushSourceImages, pushSyntheticRelease } from '../fixtures/synthetic-release.js';
import { type ContainerEnv, makeContainerEnv, ok, type RunResult } from '../helpers/containers.js';
import { reefResult } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { attachDisk, canUseLoopDevices, detachDisk, linkPartlabel, type LoopDisk, mountPartition, unmountPartition } from './helpers/loop.js';

const enabled = canUseLoopDevices() && ['skopeo', 'podman', 'tar', 'bash', 'mountpoint'].every((t) => requireTool(t));
const AI = ['quay.io/edge-infrastructure/assisted-installer-agent:latest', 'quay.io/edge-infrastructure/assisted-installer:latest'];
const VERSION = '4.18.3';

/** What reef's registry serves for an image a list names. */
interface Expected {
  /** Digest of the manifest served for the name: a manifest list's for the list components. */
  digest: string;
  /** Digest of the linux/amd64 image manifest (= `digest` unless a list). */
  imageDigest: string;
  /** The image ID podman must show: the config blob's digest. */
  configDigest: string;
}

/** Asks the registry (as any client would) for `reference` in `repo` and for the amd64 image under it. */
const served = async (client: OciClient, repo: string, reference: string, imageDigest: string): Promise<Expected> => {
  const top = await client.getManifest(repo, reference);
  const img = await client.getManifest(repo, imageDigest);
  const config = (JSON.parse(img.bytes.toString('utf8')) as { config: { digest: string } }).config.digest;
  return { digest: top.digest, imageDigest: img.digest, configDigest: config };
};

/** `quay.io/a/b:tag` or `quay.io/a/b@sha256:…` → `quay.io/a/b`. */
const repository = (ref: string) => {
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
};

const lines = (text: string) => text.split('\n').filter(Boolean);

describe.skipIf(!enabled)('pre-staging end to end: reef download onto the data partition, the overrides’ loader on the node', () => {
  let reef: TestReef;
  let work: string;
  let disk: LoopDisk | undefined;
  let byLabel: ReturnType<typeof linkPartlabel> | undefined;
  let node: string;
  let containers: ContainerEnv;
  const label = `e2e-${randomBytes(4).toString('hex')}`; // an XFS label holds 12 characters
  const mnt = () => join(work, 'factory-mnt');
  /** Where the overrides have the node mount the partition (--images-dir). */
  const nodeDir = () => join(work, 'var-mnt');
  const expected = new Map<string, Expected>();
  const lists: Record<'ai-images' | 'ocp-images', string[]> = { 'ai-images': [], 'ocp-images': [] };
  const loaders = {} as Record<OverrideStage, string[]>;

  /** Installs the loader the way Ignition would from the override `reef ignition <stage>` prints; returns its ExecStart= argv. */
  const installLoader = async (stage: OverrideStage): Promise<string[]> => {
    const r = await reefResult(['ignition', stage, '--label', label, '--images-dir', nodeDir()]);
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(r.stdout);
    const [file] = config.storage.files;
    const path = join(work, 'root', stage, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, decodeDataUrl(file.contents.source).data);
    chmodSync(path, file.mode);
    const unit = config.systemd.units.find((u: { name: string }) => u.name === STAGES[stage].service);
    const [program, ...args] = /^ExecStart=(.*)$/m.exec(unit.contents)![1]!.split(' ');
    expect(program).toBe(file.path);
    return [path, ...args];
  };

  const load = (stage: OverrideStage, extra: string[] = []): Promise<RunResult> => {
    const [program, ...args] = loaders[stage];
    return containers.exec(program!, [...args, ...extra], 300_000);
  };
  const exists = async (ref: string) => (await containers.podman(['image', 'exists', ref])).code;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'reef-e2e-'));
    containers = makeContainerEnv(join(work, 'containers'));
    reef = await startTestReef();
    const host = new URL(reef.url).host;
    const client = createOciClient({ registry: host });
    // 7 components, the 3rd and 6th pushed as manifest lists (amd64 + arm64), as real releases have.
    const release = await pushSyntheticRelease({ registry: host, version: VERSION, components: 7, imageBytes: 192 * 1024, layersPerImage: 2, listEvery: 3 });
    const ai = await pushSourceImages(client, host, AI, 96 * 1024);
    const mirrorRepo = (mirror: string) => mirror.slice(host.length + 1, mirror.lastIndexOf(':'));
    const all = [
      ...ai.map((i) => ({ source: i.source, repo: mirrorRepo(i.mirror), reference: i.source.slice(i.source.lastIndexOf(':') + 1), imageDigest: i.digest })),
      { source: `quay.io/openshift-release-dev/ocp-release:${release.releaseTag}`, repo: release.releaseRepo, reference: release.releaseTag, imageDigest: release.releaseDigest },
      ...release.components.map((c) => ({ source: c.source, repo: c.repo, reference: c.digest, imageDigest: c.imageDigest })),
    ];
    for (const e of all) expected.set(e.source, await served(client, e.repo, e.reference, e.imageDigest));
    expect([...expected.values()].filter((e) => e.digest !== e.imageDigest)).toHaveLength(2); // the two lists
    writeFileSync(join(work, 'ai-images.txt'), `${AI.join('\n')}\n`);

    disk = await attachDisk(work, 'disk.img', '2G');
    const part = await reefResult(['prestage', 'partition', '--device', disk.dev, '--size', '1G', '--label', label]);
    expect(part.code, part.stdout + part.stderr).toBe(0);
    node = /^created (\S+) /.exec(part.stdout)![1]!;
    await mountPartition(disk, node, mnt());
    const dl = await reefResult(['prestage', 'download', '--registry', host, '--release', VERSION, '--ai-images', join(work, 'ai-images.txt'), '--to', mnt(), '-p', '2']);
    expect(dl.code, dl.stdout + dl.stderr).toBe(0);
    for (const l of ['ai-images', 'ocp-images'] as const) lists[l] = lines(readFileSync(join(mnt(), `${l}.txt`), 'utf8'));
    await unmountPartition(disk, mnt());

    // No udev here: the link it would make for the partition's GPT name is made by hand.
    byLabel = linkPartlabel(label, node);
    loaders.discovery = await installLoader('discovery');
    loaders.pointer = await installLoader('pointer');
  }, 300_000);

  afterAll(async () => {
    byLabel?.remove();
    await detachDisk(disk);
    await reef?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the download listed every image of the release and of --ai-images under its upstream name', () => {
    expect(lists['ai-images']).toEqual(AI);
    expect(lists['ocp-images'].sort()).toEqual([...expected.keys()].filter((s) => !AI.includes(s)).sort());
  });

  it.each(['discovery', 'pointer'] as const)(
    'the %s override’s loader mounts the partition by partlabel and loads every listed image with the registry’s digest and ID',
    async (stage) => {
      const list = lists[STAGES[stage].list];
      const r = await load(stage);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`mounted /dev/disk/by-partlabel/${label} on ${nodeDir()}`);
      expect(r.stdout).toContain(`${list.length} loaded, 0 already present, 0 failed, of ${list.length}`);
      expect(r.stdout).toContain(`unmounted ${nodeDir()}`);
      for (const ref of list) {
        const want = expected.get(ref)!;
        expect(await exists(ref), `podman image exists ${ref}`).toBe(0);
        const [info] = JSON.parse(ok('podman image inspect', await containers.podman(['image', 'inspect', ref])));
        expect(info.Digest, ref).toBe(want.digest);
        expect(info.RepoDigests, ref).toContain(`${repository(ref)}@${want.imageDigest}`);
        expect(`sha256:${info.Id}`, ref).toBe(want.configDigest);
      }
    },
    180_000,
  );

  it('a second run of each loader skips every image', async () => {
    for (const stage of ['discovery', 'pointer'] as const) {
      const n = lists[STAGES[stage].list].length;
      const r = await load(stage);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`0 loaded, ${n} already present, 0 failed, of ${n}`);
    }
  }, 120_000);

  it('a truncated tgz makes the loader exit 1 naming that image; the other images stay loaded', async () => {
    const list = lists['ocp-images'];
    const victim = list.find((ref) => ref.includes('@sha256:') && expected.get(ref)!.digest === expected.get(ref)!.imageDigest)!; // not a list
    const tgz = join(mnt(), `${victim.slice(victim.lastIndexOf('/') + 1).replace(':', '_')}.tgz`);
    await mountPartition(disk!, node, mnt());
    truncateSync(tgz, Math.floor(statSync(tgz).size / 2));
    await unmountPartition(disk!, mnt());
    ok('podman rmi', await containers.podman(['rmi', victim]));
    expect(await exists(victim)).not.toBe(0);

    const r = await load('pointer', ['--attempts', '2', '--backoff', '0']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain(`${victim}: attempt 2/2 failed`);
    expect(r.stderr).toContain(`FAILED to load 1 image(s):\nreef-precache:   ${victim}\n`);
    expect(r.stdout).toContain(`0 loaded, ${list.length - 1} already present, 1 failed, of ${list.length}`);
    expect(await exists(victim)).not.toBe(0);
    for (const ref of [...list, ...lists['ai-images']].filter((x) => x !== victim)) expect(await exists(ref), ref).toBe(0);
  }, 120_000);
});
