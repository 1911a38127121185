import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDataUrl } from '../../src/ignition/data-url.js';
import { readLoaderScript } from '../../src/ignition/precache/loader-script.js';
import { MAX_GUNZIP_BYTES } from '../../src/ignition/rules.js';
import { validateIgnition } from '../../src/ignition/validate.js';
import { buildDist, reefResult } from '../helpers/process.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq3t0GZ0m8Jx2bq0t6Q7y2o6b1l5e8b4xv8Jm0p0a1b factory@reef';

/** Runs `reef <args>` as a process; stdout and stderr apart. */
const reef = (args: string[], opts: { built?: boolean } = {}) => reefResult(args, {}, opts);

describe('reef ignition (CLI)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reef-ign-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints a discovery override that validates, with the flags applied', async () => {
    const keyFile = join(dir, 'keys.pub');
    writeFileSync(keyFile, `# factory keys\n${KEY.replace('factory', 'second')}\n\n`);
    const r = await reef(['ignition', 'discovery', '--version', '3.2.0', '--label', 'cache', '--images-dir', '/var/cache-part', '--ssh-key', KEY, '--ssh-key-file', keyFile]);
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(r.stdout);
    expect(validateIgnition(config, { versions: ['3.1.0', '3.2.0'] })).toEqual([]);
    expect(config.ignition.version).toBe('3.2.0');
    expect(config.passwd.users[0].sshAuthorizedKeys).toEqual([KEY, KEY.replace('factory', 'second')]);
    expect(config.systemd.units.map((u: { name: string }) => u.name)).toEqual(['var-cache\\x2dpart.mount', 'precache-images.service']);
    expect(config.systemd.units[0].contents).toContain('What=/dev/disk/by-partlabel/cache');
    expect(decodeDataUrl(config.storage.files[0].contents.source).data.toString()).toBe(readLoaderScript());
  });

  it('prints the pointer override, the Assisted PATCH bodies and the SiteConfig snippets', async () => {
    const pointer = await reef(['ignition', 'pointer']);
    expect(pointer.code, pointer.stderr).toBe(0);
    expect(JSON.parse(pointer.stdout).systemd.units[1].name).toBe('precache-ocp-images.service');

    const assisted = await reef(['ignition', 'assisted', '--label', 'cache']);
    expect(assisted.code, assisted.stderr).toBe(0);
    const bodies = JSON.parse(assisted.stdout);
    expect(JSON.parse(bodies['PATCH /v2/infra-envs/{infra_env_id}'].ignition_config_override).systemd.units[1].name).toBe('precache-images.service');
    const pointerCache = await reef(['ignition', 'pointer', '--label', 'cache']);
    expect(JSON.parse(bodies['PATCH /v2/infra-envs/{infra_env_id}/hosts/{host_id}/ignition'].config)).toEqual(JSON.parse(pointerCache.stdout));
    expect(bodies['PATCH /v2/infra-envs/{infra_env_id}/hosts/{host_id}/installer-args']).toEqual({ args: ['--save-partlabel', 'cache'] });

    const site = await reef(['ignition', 'siteconfig']);
    expect(site.code, site.stderr).toBe(0);
    const [sc, ci] = yaml.loadAll(site.stdout) as any[];
    expect(sc.kind).toBe('SiteConfig');
    expect(ci.kind).toBe('ClusterInstance');
    expect(ci.spec.nodes[0].installerArgs).toBe('["--save-partlabel","data"]');
  });

  it('validate: exit 0 for a good config, 1 with path-named errors for a bad one', async () => {
    const good = join(dir, 'good.ign');
    writeFileSync(good, (await reef(['ignition', 'pointer', '--version', '3.2.0'])).stdout);
    const ok = await reef(['ignition', 'validate', good]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`${good}: valid Ignition 3.2.0 config\n`);

    const bad = join(dir, 'bad.ign');
    writeFileSync(
      bad,
      JSON.stringify({
        ignition: { version: '3.1.0' },
        storage: { files: [{ path: '/usr/local/bin/extract-ai.sh', mode: 755, contents: { source: 'data:,%2' } }] },
        systemd: { units: [{ name: 'var-mnt.mount', contents: '[Mount]\nWhat=/dev/disk/by-partlabel/data\nWhere=/mnt\n' }, { name: 'precache' }] },
      }),
    );
    const r = await reef(['ignition', 'validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').slice(1, -1)).toEqual([
      expect.stringMatching(/^storage\.files\[0\]\.mode: mode 755 looks like octal .* write 493$/),
      expect.stringMatching(/^systemd\.units\[0\]\.name: a mount unit for Where=\/mnt must be named mnt\.mount, not var-mnt\.mount$/),
      expect.stringMatching(/^systemd\.units\[1\]\.name: unit name "precache" has no valid unit suffix/),
      expect.stringMatching(/^storage\.files\[0\]\.contents\.source: bad percent escape/),
    ]);
    expect(r.stderr).toMatch(/^.*bad\.ign: 4 problems\n/);

    const notJson = join(dir, 'x.ign');
    writeFileSync(notJson, '{"ignition":');
    const nj = await reef(['ignition', 'validate', notJson]);
    expect(nj.code).toBe(1);
    expect(nj.stderr).toContain('(root): not valid JSON');
  });

  it('exits 2 naming the flag for bad usage', async () => {
    const cases: [string[], RegExp][] = [
      [['ignition', 'discovery', '--version', '3.4.0'], /--version: must be 3\.1\.0 or 3\.2\.0/],
      [['ignition', 'pointer', '--images-dir', 'var/mnt'], /--images-dir: must be an absolute, normalized path/],
      [['ignition', 'discovery', '--label', 'my data'], /--label: must be a GPT partition name/],
      [['ignition', 'discovery', '--ssh-key', KEY, '--ssh-key', 'hello'], /--ssh-key\[1\]: not an SSH public key/],
      [['ignition', 'discovery', '--bogus'], /Unknown option '--bogus'/],
      [['ignition', 'discovery', '--label'], /--label/],
      [['ignition', 'assisted', '--ssh-key-file', join(dir, 'missing.pub')], /--ssh-key-file: cannot read/],
      [['ignition', 'validate'], /usage: reef ignition validate/],
      [['ignition', 'frobnicate'], /unknown ignition command "frobnicate"/],
    ];
    for (const [args, message] of cases) {
      const r = await reef(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });

  it('refuses a discovery override past the 256 KiB cap (exit 2), the pointer has no cap', async () => {
    const keyFile = join(dir, 'many.pub');
    const header = Buffer.from('0000000b7373682d6564323535313900000020', 'hex');
    writeFileSync(keyFile, Array.from({ length: 8000 }, (_, i) => `ssh-ed25519 ${Buffer.concat([header, randomBytes(32)]).toString('base64')} k${i}`).join('\n'));
    const r = await reef(['ignition', 'discovery', '--ssh-key-file', keyFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--ssh-key: the discovery override would take \d+ bytes as a gzip-compressed cpio, over the 262144 bytes \(256 KiB\)/);
    expect(r.stdout).toBe('');
    const assisted = await reef(['ignition', 'assisted', '--ssh-key-file', keyFile]);
    expect(assisted.code).toBe(2);
    const pointer = await reef(['ignition', 'pointer', '--ssh-key-file', keyFile]);
    expect(pointer.code, pointer.stderr).toBe(0);
    expect(JSON.parse(pointer.stdout).passwd.users[0].sshAuthorizedKeys).toHaveLength(8000);
  });

  it('works from the built dist/cli.js (the loader script is found outside dist/)', async () => {
    buildDist();
    const r = await reef(['ignition', 'discovery'], { built: true });
    expect(r.code, r.stderr).toBe(0);
    expect(decodeDataUrl(JSON.parse(r.stdout).storage.files[0].contents.source).data.toString()).toBe(readLoaderScript());
    const file = join(dir, 'built.ign');
    writeFileSync(file, JSON.stringify({ ignition: { version: '3.4.0' }, storage: { files: [{ path: '/etc/x', mode: 644 }] } }));
    const v = await reef(['ignition', 'validate', file], { built: true });
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('storage.files[0].mode: mode 644 looks like octal');
  }, 180_000);
});

describe('reef ignition validate on a gzip bomb', () => {
  it('refuses a data: URL that expands past the bound, naming the field, without expanding it all', () => {
    // 128 KB of gzip standing for 128 MiB of zeros.
    const bomb = gzipSync(Buffer.alloc(2 * MAX_GUNZIP_BYTES));
    const config = {
      ignition: { version: '3.2.0' },
      storage: { files: [{ path: '/etc/bomb', mode: 420, contents: { compression: 'gzip', source: `data:;base64,${bomb.toString('base64')}` } }] },
    };
    const issues = validateIgnition(config);
    expect(issues).toEqual([
      { path: 'storage.files[0].contents.compression', message: `compression is gzip and the data expands past ${MAX_GUNZIP_BYTES} bytes; refused unchecked (a gzip bomb, or a file too large for a config)` },
    ]);
  });
});
