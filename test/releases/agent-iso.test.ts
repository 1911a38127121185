/**
 * Agent ISOs from a release's extracted artifacts: a raw Ignition embedded into coreos.iso (read
 * back with `reef iso show`), and `openshift-install agent create image` run the way reef runs
 * the release's own installer — here the fixture's stand-in, which records how it was run and
 * builds an ISO from its inputs. The release sits in reef's own registry.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/core/errors.js';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { buildAgentImage, embedRawIgnition, InstallerRunError, NoInstallerError, type AgentImageOptions } from '../../src/releases/agent-iso/index.js';
import { extractReleaseArtifacts, imageSourceFromClient, type ExtractResult } from '../../src/releases/extract/index.js';
import { pushToolRelease } from '../fixtures/tool-release.js';
import { reefResult } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

const run = promisify(execFile);
const ready = requireTool('xorriso') && requireTool('zstd');

// The seed document's configs (fastregistry-release-management.md), as printed.
const INSTALL_CONFIG = `apiVersion: v1
baseDomain: example.com
metadata:
  name: my-cluster
# ... rest of config
`;
const AGENT_CONFIG = `apiVersion: v1alpha1
metadata:
  name: my-cluster
rendezvousIP: 192.168.1.100
# ... rest of config
`;
const PULL_SECRET = JSON.stringify({ auths: { 'reef.example:5000': { auth: Buffer.from('site:s3cret-pass').toString('base64') } } });

/** A file of an ISO, read with xorriso. */
const isoFile = async (iso: string, path: string, dir: string) => {
  const out = join(dir, `x-${createHash('sha256').update(iso + path).digest('hex').slice(0, 8)}`);
  await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', path, out]);
  return readFileSync(out, 'utf8');
};

const validationPaths = async (p: Promise<unknown>) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DomainError);
  return (err as DomainError).details.map((d) => d.path);
};

describe.runIf(ready)('agent ISOs of an extracted release', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-agent-iso-'));
  let reef: TestReef;
  let extracted: ExtractResult;
  let base: Omit<AgentImageOptions, 'body'>;
  let arm: ExtractResult;

  beforeAll(async () => {
    reef = await startTestReef();
    const host = new URL(reef.url).host;
    const release = await pushToolRelease({ registry: host, plainHttp: true, version: '4.21.0', arches: ['x86_64'], dir: join(dir, 'build') });
    const source = imageSourceFromClient(createOciClient({ registry: host, plainHttp: true }));
    extracted = await extractReleaseArtifacts({ source, repo: release.repo, reference: release.tag, arch: 'x86_64', artifactPath: join(dir, 'artifacts'), pullspecRepo: 'reef.example:5000/openshift/release' });
    const armRelease = await pushToolRelease({ registry: host, plainHttp: true, version: '4.21.1', arches: ['aarch64'], dir: join(dir, 'build-arm') });
    arm = await extractReleaseArtifacts({ source, repo: armRelease.repo, reference: armRelease.tag, arch: 'aarch64', artifactPath: join(dir, 'artifacts'), pullspecRepo: 'reef.example:5000/openshift/release' });
    base = { version: '4.21.0', arch: 'x86_64', hostArch: 'x86_64', artifactsDir: extracted.dir, cacheDir: join(dir, 'installs'), mirror: { registry: 'reef.example:5000', localRepo: 'openshift/release', pullSecret: PULL_SECRET } };
  }, 180_000);
  afterAll(async () => {
    await reef?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('embeds a raw Ignition into coreos.iso as gzip; reef iso show reads it back', async () => {
    const ignition = { ignition: { version: '3.2.0' }, storage: { files: [{ path: '/etc/motd', contents: { source: 'data:,hello' }, mode: 420 }] } };
    const out = join(dir, 'raw.iso');
    await embedRawIgnition({ baseIso: join(extracted.dir, 'coreos.iso'), ignition: JSON.stringify(ignition), output: out });
    const shown = await reefResult(['iso', 'show', out]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual(ignition);
    // The base ISO stays pristine: a second config can be embedded from it.
    await embedRawIgnition({ baseIso: join(extracted.dir, 'coreos.iso'), ignition, output: join(dir, 'raw2.iso') });
    expect(await validationPaths(embedRawIgnition({ baseIso: join(extracted.dir, 'coreos.iso'), ignition: '{"storage":{}}', output: join(dir, 'bad.iso') }))).toEqual(['ignition']);
    expect(existsSync(join(dir, 'bad.iso'))).toBe(false);
  }, 60_000);

  it('runs the extracted installer on the seed configs, pointed at the mirror, with only the environment it is given', async () => {
    process.env.REEF_TEST_SENTINEL = 'must-not-reach-the-installer';
    try {
      const r = await buildAgentImage({ ...base, body: { install_config: INSTALL_CONFIG, agent_config: AGENT_CONFIG } });
      expect(r.cached).toBe(false);
      expect(r.iso).toBe(join(base.cacheDir, r.key, 'agent.iso'));
      const work = join(base.cacheDir, r.key, 'work');
      const installDir = join(work, 'install');
      const rec = (name: string) => readFileSync(join(installDir, '.standin', name), 'utf8');
      expect(rec('args').trim().split('\n')).toEqual(['agent', 'create', 'image', '--dir', installDir, '--log-level=info']);
      const env = Object.fromEntries(rec('env').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      expect(env.XDG_CACHE_HOME).toBe(join(work, 'cache'));
      expect(env.HOME).toBe(join(work, 'home'));
      expect(env.PATH!.split(':')[0]).toBe(join(work, 'bin'));
      expect(env.REEF_TEST_SENTINEL).toBeUndefined();
      expect(Object.keys(env).filter((k) => !['HOME', 'XDG_CACHE_HOME', 'TMPDIR', 'PATH', 'PWD', 'SHLVL', '_', 'OLDPWD'].includes(k))).toEqual([]);
      // It found the stamped release, the extracted oc, and the extracted coreos.iso in its cache.
      expect(rec('release-image').trim()).toBe(extracted.pullspec);
      expect(rec('oc-version')).toContain('synthetic oc for linux/x86_64');
      expect(rec('base-iso.sha256').trim()).toBe(extracted.artifacts.find((a) => a.name === 'coreos.iso')!.sha256);
      // The ISO it built holds the configs reef gave it: the mirror in imageDigestSources, the pull secret, the arch.
      const ic = yaml.load(await isoFile(r.iso, '/install-config.yaml', dir)) as Record<string, any>;
      expect(ic.metadata.name).toBe('my-cluster');
      expect(ic.imageDigestSources).toEqual([
        { source: 'quay.io/openshift-release-dev/ocp-release', mirrors: ['reef.example:5000/openshift/release'] },
        { source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev', mirrors: ['reef.example:5000/openshift/release'] },
      ]);
      expect(ic.pullSecret).toBe(PULL_SECRET);
      expect(ic.controlPlane.architecture).toBe('amd64');
      expect((yaml.load(await isoFile(r.iso, '/agent-config.yaml', dir)) as Record<string, any>).rendezvousIP).toBe('192.168.1.100');
      // The log is kept; the pull secret is in neither the log nor the work dir.
      expect(readFileSync(r.log, 'utf8')).toContain('Generated ISO');
      expect(readFileSync(r.log, 'utf8')).not.toContain('s3cret');
      expect(existsSync(join(installDir, 'install-config.yaml'))).toBe(false);
      const again = await buildAgentImage({ ...base, body: { install_config: INSTALL_CONFIG, agent_config: AGENT_CONFIG } });
      expect(again).toEqual({ ...r, cached: true });
    } finally {
      delete process.env.REEF_TEST_SENTINEL;
    }
  }, 60_000);

  it("adds reef's registry credentials to the user's pull secret", async () => {
    const user = JSON.stringify({ auths: { 'quay.io': { auth: 'dXNlcjpwdw==' } } });
    const ic = `${INSTALL_CONFIG}pullSecret: '${user}'\n`;
    const r = await buildAgentImage({ ...base, body: { install_config: ic, agent_config: AGENT_CONFIG } });
    const got = yaml.load(await isoFile(r.iso, '/install-config.yaml', dir)) as { pullSecret: string };
    expect(Object.keys(JSON.parse(got.pullSecret).auths).sort()).toEqual(['quay.io', 'reef.example:5000']);
    // No pull secret anywhere (the seed's configs, reef's registry anonymous): one naming the mirror.
    const anon = await buildAgentImage({ ...base, mirror: { ...base.mirror, pullSecret: undefined }, body: { install_config: INSTALL_CONFIG, agent_config: AGENT_CONFIG } });
    const anonConfig = yaml.load(await isoFile(anon.iso, '/install-config.yaml', dir)) as { pullSecret: string };
    expect(Object.keys(JSON.parse(anonConfig.pullSecret).auths)).toEqual(['reef.example:5000']);
  });

  it("builds an aarch64 release's ISO on an x86_64 server with the release's linux/amd64 installer and oc", async () => {
    const r = await buildAgentImage({ ...base, version: '4.21.1', arch: 'aarch64', artifactsDir: arm.dir, body: { install_config: INSTALL_CONFIG, agent_config: AGENT_CONFIG } });
    const rec = (name: string) => readFileSync(join(base.cacheDir, r.key, 'work', 'install', '.standin', name), 'utf8').trim();
    expect(rec('self')).toBe(join(arm.dir, 'openshift-install-linux-amd64'));
    expect(rec('release-image')).toBe(arm.pullspec);
    expect(rec('oc-version')).toContain('synthetic oc for linux/x86_64');
    const ic = yaml.load(await isoFile(r.iso, '/install-config.yaml', dir)) as Record<string, any>;
    expect(ic.controlPlane.architecture).toBe('arm64');
    // A server the release ships no installer for.
    const err = await buildAgentImage({ ...base, hostArch: 'ppc64le', body: { install_config: INSTALL_CONFIG, agent_config: AGENT_CONFIG } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoInstallerError);
    expect((err as Error).message).toMatch(/runs on this ppc64le server/);
  });

  it('names the bad fields of both documents', async () => {
    const body = (ic: string, ac = AGENT_CONFIG) => ({ ...base, body: { install_config: ic, agent_config: ac } });
    expect(await validationPaths(buildAgentImage(body(INSTALL_CONFIG.replace('my-cluster', 'My_Cluster'))))).toEqual(['install_config.metadata.name']);
    expect(await validationPaths(buildAgentImage(body(INSTALL_CONFIG, AGENT_CONFIG.replace('192.168.1.100', '192.168.1.300'))))).toEqual(['agent_config.rendezvousIP']);
    expect(await validationPaths(buildAgentImage(body(`${INSTALL_CONFIG}controlPlane:\n  architecture: arm64\n`)))).toEqual(['install_config.controlPlane.architecture']);
    expect(await validationPaths(buildAgentImage(body(`${INSTALL_CONFIG}pullSecret: '{"auth": 1}'\n`)))).toEqual(['install_config.pullSecret']);
    expect(await validationPaths(buildAgentImage(body('apiVersion: v1\nbaseDomain: [unclosed')))).toEqual(['install_config']);
    expect(await validationPaths(buildAgentImage({ ...base, body: { install_config: INSTALL_CONFIG } }))).toEqual(['agent_config']);
  });

  it('says so (409) when the arch has no installer, and keeps the log of a failed or stopped run', async () => {
    const err = await buildAgentImage({ ...base, artifactsDir: join(dir, 'nowhere'), body: { install_config: INSTALL_CONFIG, agent_config: AGENT_CONFIG } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoInstallerError);
    expect((err as DomainError).code).toBe('CONFLICT');
    const failed = await buildAgentImage({ ...base, body: { install_config: INSTALL_CONFIG.replace('example.com', 'fail.standin.test'), agent_config: AGENT_CONFIG } }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(InstallerRunError);
    expect((failed as Error).message).toMatch(/exit 1.*failed as baseDomain fail.standin.test/);
    expect(readFileSync((failed as InstallerRunError).log, 'utf8')).toContain('level=fatal');
    const slow = await buildAgentImage({ ...base, timeoutMs: 1500, body: { install_config: INSTALL_CONFIG.replace('example.com', 'slow.standin.test'), agent_config: AGENT_CONFIG } }).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(InstallerRunError);
    expect((slow as Error).message).toMatch(/ran longer than 2 s and was stopped/);
    expect(statSync((slow as InstallerRunError).log).isFile()).toBe(true);
  }, 60_000);
});
