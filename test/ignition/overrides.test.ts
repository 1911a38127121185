import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/core/errors.js';
import { decodeDataUrl } from '../../src/ignition/data-url.js';
import { ASSISTED_ENDPOINTS, assistedPatchBodies, siteConfigSnippets } from '../../src/ignition/overrides/assisted.js';
import { parseOverrideOptions } from '../../src/ignition/overrides/options.js';
import { buildDiscoveryOverride, buildOverrideFor, buildPointerOverride, compressedCpioSize, DISCOVERY_CPIO_LIMIT, type OverrideStage } from '../../src/ignition/overrides/overrides.js';
import { readLoaderScript } from '../../src/ignition/precache/loader-script.js';
import { validateIgnition } from '../../src/ignition/validate.js';
import { requireTool } from '../helpers/tools.js';

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq3t0GZ0m8Jx2bq0t6Q7y2o6b1l5e8b4xv8Jm0p0a1b factory@reef';
const KEY_B = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOk= ops';
const loader = readLoaderScript();

/** A distinct, well-formed ed25519 public key line (random key bytes: compresses like real keys). */
const randomKey = (i: number) =>
  `ssh-ed25519 ${Buffer.concat([Buffer.from('0000000b7373682d65643235353139', 'hex'), Buffer.from([0, 0, 0, 32]), randomBytes(32)]).toString('base64')} key-${i}@factory`;

const units = (c: { systemd?: { units?: { name: string; contents?: string | null }[] } }) => new Map(c.systemd!.units!.map((u) => [u.name, u.contents ?? '']));

describe('discovery and pointer overrides', () => {
  const cases: [OverrideStage, '3.1.0' | '3.2.0', string[]][] = [];
  for (const stage of ['discovery', 'pointer'] as const) for (const version of ['3.1.0', '3.2.0'] as const) for (const keys of [[], [KEY_A, KEY_B]]) cases.push([stage, version, keys]);

  it.each(cases)('%s %s with %j SSH keys passes the schema and the rules, loader embedded', (stage, version, sshKeys) => {
    const config = buildOverrideFor(stage, parseOverrideOptions({ version, sshKeys }), loader);
    expect(validateIgnition(config, { versions: ['3.1.0', '3.2.0'] })).toEqual([]);
    expect(config.ignition.version).toBe(version);
    const file = config.storage!.files![0]!;
    expect(file).toMatchObject({ path: '/usr/local/bin/reef-load-images.sh', mode: 493, user: { name: 'root' }, overwrite: true });
    expect(decodeDataUrl(file.contents!.source!).data.toString()).toBe(loader);
    if (sshKeys.length) expect(config.passwd).toEqual({ users: [{ name: 'core', sshAuthorizedKeys: sshKeys }] });
    else expect(config.passwd).toBeUndefined();
  });

  it('discovery: precache-images.service loads ai-images before agent.service, partition mounted by partlabel on /var/mnt', () => {
    const u = units(buildDiscoveryOverride(parseOverrideOptions({}), loader));
    expect([...u.keys()]).toEqual(['var-mnt.mount', 'precache-images.service']);
    const svc = u.get('precache-images.service')!;
    expect(svc).toContain('Type=oneshot');
    expect(svc).toContain('Before=agent.service');
    expect(svc).toContain('After=var-mnt.mount');
    expect(svc).toContain('WantedBy=multi-user.target agent.service');
    expect(svc).toContain('ExecStart=/usr/local/bin/reef-load-images.sh --list ai-images --partlabel data --dir /var/mnt');
    expect(u.get('var-mnt.mount')).toContain('What=/dev/disk/by-partlabel/data\nWhere=/var/mnt\n');
    expect(u.get('var-mnt.mount')).toContain('RequiredBy=precache-images.service');
  });

  it('pointer: precache-ocp-images.service loads ocp-images before the MCD pull and nodeip configuration', () => {
    const u = units(buildPointerOverride(parseOverrideOptions({ label: 'cache', imagesDir: '/srv/pre-cache' }), loader));
    expect([...u.keys()]).toEqual(['srv-pre\\x2dcache.mount', 'precache-ocp-images.service']);
    const svc = u.get('precache-ocp-images.service')!;
    expect(svc).toContain('Before=machine-config-daemon-pull.service nodeip-configuration.service');
    expect(svc).toContain('After=srv-pre\\x2dcache.mount');
    expect(svc).toContain('--list ocp-images --partlabel cache --dir /srv/pre-cache');
    expect(u.get('srv-pre\\x2dcache.mount')).toContain('What=/dev/disk/by-partlabel/cache\nWhere=/srv/pre-cache\n');
  });

  it('units and loader pass `systemd-analyze verify` and `bash -n` as installed from the override', () => {
    if (!requireTool('systemd-analyze') || !requireTool('bash')) return;
    if (!requireTool('systemd-escape')) return;
    const root = mkdtempSync(join(tmpdir(), 'reef-units-'));
    try {
      cpSync(existsSync('/usr/lib/systemd/system') ? '/usr/lib/systemd/system' : '/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
      for (const stage of ['discovery', 'pointer'] as const) {
        const config = buildOverrideFor(stage, parseOverrideOptions({ imagesDir: '/var/pre-cache' }), loader);
        const file = config.storage!.files![0]!;
        mkdirSync(dirname(join(root, file.path)), { recursive: true });
        writeFileSync(join(root, file.path), decodeDataUrl(file.contents!.source!).data);
        chmodSync(join(root, file.path), file.mode!);
        const syntax = spawnSync('bash', ['-n', join(root, file.path)], { encoding: 'utf8' });
        expect(syntax.status, syntax.stderr).toBe(0);
        const paths = config.systemd!.units!.map((u) => {
          mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
          writeFileSync(join(root, 'etc/systemd/system', u.name), u.contents!);
          return `/etc/systemd/system/${u.name}`;
        });
        const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...paths], { encoding: 'utf8' });
        expect(r.status, `${stage}: ${r.stderr}`).toBe(0);
        expect(r.stderr).toBe('');
      }
      // The check is real: the same unit under a name not matching Where= is refused by systemd too.
      writeFileSync(join(root, 'etc/systemd/system/mnt.mount'), units(buildPointerOverride(parseOverrideOptions({}), loader)).get('var-mnt.mount')!);
      const bad = spawnSync('systemd-analyze', ['verify', `--root=${root}`, '/etc/systemd/system/mnt.mount'], { encoding: 'utf8' });
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toContain("Where= setting doesn't match unit name");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses a discovery override over 256 KiB as a gzipped cpio, naming the SSH keys', () => {
    const sshKeys = Array.from({ length: 8000 }, (_, i) => randomKey(i));
    const opts = parseOverrideOptions({ sshKeys });
    // The pointer override is not embedded in the ISO: no cap, and it measures over the limit.
    expect(compressedCpioSize(buildPointerOverride(opts, loader))).toBeGreaterThan(DISCOVERY_CPIO_LIMIT);
    let err: unknown;
    try {
      buildDiscoveryOverride(opts, loader);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).details).toEqual([{ path: 'sshKeys', message: expect.stringMatching(/would take \d+ bytes as a gzip-compressed cpio, over the 262144 bytes \(256 KiB\)/) }]);
    // A realistic number of keys is far below the cap.
    const small = buildDiscoveryOverride(parseOverrideOptions({ sshKeys: sshKeys.slice(0, 20) }), loader);
    expect(compressedCpioSize(small)).toBeLessThan(16 * 1024);
  });

  it('validates the options', () => {
    const issues = (input: unknown) => {
      try {
        parseOverrideOptions(input);
        return [];
      } catch (e) {
        return (e as DomainError).details.map((d) => d.path);
      }
    };
    expect(issues({ version: '3.4.0' })).toEqual(['version']);
    expect(issues({ label: 'data label' })).toEqual(['label']);
    expect(issues({ label: 'x'.repeat(37) })).toEqual(['label']);
    expect(issues({ imagesDir: 'var/mnt' })).toEqual(['imagesDir']);
    expect(issues({ imagesDir: '/var/../mnt' })).toEqual(['imagesDir']);
    expect(issues({ imagesDir: '/var/$(reboot)' })).toEqual(['imagesDir']);
    expect(issues({ sshKeys: [KEY_A, 'not a key', 'ssh-rsa AAAA\nssh-rsa BBBB'] })).toEqual(['sshKeys[1]', 'sshKeys[2]']);
    expect(parseOverrideOptions({})).toEqual({ label: 'data', version: '3.1.0', imagesDir: '/var/mnt', sshKeys: [] });
  });
});

describe('Assisted Service payloads', () => {
  const opts = parseOverrideOptions({ version: '3.2.0', sshKeys: [KEY_A] });

  it('gives the three PATCH bodies with the overrides as JSON strings and --save-partlabel', () => {
    const bodies = assistedPatchBodies(opts, loader);
    expect(Object.keys(bodies)).toEqual([ASSISTED_ENDPOINTS.infraEnv, ASSISTED_ENDPOINTS.hostIgnition, ASSISTED_ENDPOINTS.installerArgs]);
    expect(Object.keys(bodies)).toEqual([
      'PATCH /v2/infra-envs/{infra_env_id}',
      'PATCH /v2/infra-envs/{infra_env_id}/hosts/{host_id}/ignition',
      'PATCH /v2/infra-envs/{infra_env_id}/hosts/{host_id}/installer-args',
    ]);
    const infra = bodies[ASSISTED_ENDPOINTS.infraEnv] as { ignition_config_override: string };
    const host = bodies[ASSISTED_ENDPOINTS.hostIgnition] as { config: string };
    expect(typeof infra.ignition_config_override).toBe('string');
    expect(JSON.parse(infra.ignition_config_override)).toEqual(buildDiscoveryOverride(opts, loader));
    expect(JSON.parse(host.config)).toEqual(buildPointerOverride(opts, loader));
    expect(bodies[ASSISTED_ENDPOINTS.installerArgs]).toEqual({ args: ['--save-partlabel', 'data'] });
  });

  it('gives SiteConfig and ClusterInstance snippets with the fields where the CRDs have them', () => {
    const docs = yaml.loadAll(siteConfigSnippets(parseOverrideOptions({ label: 'cache' }), loader)) as any[];
    expect(docs).toHaveLength(2);
    const [site, ci] = docs;
    expect(site).toMatchObject({ apiVersion: 'ran.openshift.io/v1', kind: 'SiteConfig' });
    expect(ci).toMatchObject({ apiVersion: 'siteconfig.open-cluster-management.io/v1alpha1', kind: 'ClusterInstance' });
    for (const [discovery, node] of [
      [site.spec.clusters[0].ignitionConfigOverride, site.spec.clusters[0].nodes[0]],
      [ci.spec.ignitionConfigOverride, ci.spec.nodes[0]],
    ]) {
      expect(validateIgnition(JSON.parse(discovery), { versions: ['3.1.0', '3.2.0'] })).toEqual([]);
      expect(JSON.parse(discovery).systemd.units[1].name).toBe('precache-images.service');
      expect(JSON.parse(node.installerArgs)).toEqual(['--save-partlabel', 'cache']);
      expect(JSON.parse(node.ignitionConfigOverride).systemd.units[1].name).toBe('precache-ocp-images.service');
    }
  });
});
