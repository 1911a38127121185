import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { diskEntry, dropinEntry, fileEntry, filesystemEntry, mountUnit, octal, partitionEntry, unitEntry } from '../../src/ignition/builders.js';
import { decodeDataUrl, toDataUrl } from '../../src/ignition/data-url.js';
import { createSchemaValidator } from '../../src/ignition/json-schema.js';
import { escapePath, mountUnitName, unitNameProblem } from '../../src/ignition/systemd-names.js';
import type { Config32, Config34 } from '../../src/ignition/types.js';
import { validateIgnition } from '../../src/ignition/validate.js';
import { requireTool } from '../helpers/tools.js';

const PATHS = ['/var/mnt', '/srv/my-data', '/.hidden/x', '/var//mnt/', '/', '/a b/ü', '/var/lib/containers/storage', '/x:y_z.1'];

describe('systemd path escaping', () => {
  it('matches `systemd-escape --path` for every path', () => {
    if (!requireTool('systemd-escape')) return;
    const r = spawnSync('systemd-escape', ['--path', ...PATHS], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(PATHS.map(escapePath)).toEqual(r.stdout.trim().split(/\s+/));
  });

  it('names mount units after the mount point and refuses relative or ".." paths', () => {
    expect(mountUnitName('/var/mnt')).toBe('var-mnt.mount');
    expect(mountUnitName('/srv/pre-cache', 'automount')).toBe('srv-pre\\x2dcache.automount');
    expect(() => escapePath('var/mnt')).toThrow(/absolute/);
    expect(() => escapePath('/var/../mnt')).toThrow(/absolute/);
  });

  it('checks unit names', () => {
    expect(unitNameProblem('precache-images.service')).toBeNull();
    expect(unitNameProblem('getty@tty1.service')).toBeNull();
    expect(unitNameProblem('var-mnt.mount')).toBeNull();
    expect(unitNameProblem('precache-images')).toMatch(/no valid unit suffix/);
    expect(unitNameProblem('x.conf')).toMatch(/no valid unit suffix/);
    expect(unitNameProblem('.service')).toMatch(/empty prefix/);
    expect(unitNameProblem('a b.service')).toMatch(/characters systemd does not allow/);
  });
});

describe('data URLs', () => {
  const script = '#!/bin/bash\necho "100% $HOME" & exit 0\n';
  it('round-trips base64 and percent encoding', () => {
    for (const enc of ['base64', 'percent'] as const) {
      const url = toDataUrl(script, enc);
      expect(url).not.toMatch(/[\n ]/);
      expect(decodeDataUrl(url).data.toString()).toBe(script);
    }
    expect(toDataUrl('a b', 'percent')).toBe('data:,a%20b');
    expect(decodeDataUrl('data:text/plain;charset=utf-8;base64,aGk=')).toEqual({ mediaType: 'text/plain;charset=utf-8', data: Buffer.from('hi') });
  });

  it('refuses URLs that do not decode', () => {
    expect(() => decodeDataUrl('data:;base64,aGk')).toThrow(/not valid base64/);
    expect(() => decodeDataUrl('data:;base64,a$k=')).toThrow(/not valid base64/);
    expect(() => decodeDataUrl('data:,100%')).toThrow(/bad percent escape/);
    expect(() => decodeDataUrl('data:,line\nbreak')).toThrow(/control character/);
    expect(() => decodeDataUrl('data:text/plain')).toThrow(/no ","/);
  });
});

describe('builders', () => {
  it('write decimal modes, owners and data URLs that decode to the contents', () => {
    expect(octal('0755')).toBe(493);
    expect(octal('644')).toBe(420);
    expect(() => octal('0855')).toThrow(/octal mode/);
    const f = fileEntry({ path: '/usr/local/bin/x.sh', contents: '#!/bin/sh\n', mode: 0o755, user: 'root', group: 0, encoding: 'percent' });
    expect(f).toMatchObject({ path: '/usr/local/bin/x.sh', mode: 493, user: { name: 'root' }, group: { id: 0 } });
    expect(decodeDataUrl(f.contents!.source!).data.toString()).toBe('#!/bin/sh\n');
    expect(fileEntry({ path: '/etc/x', contents: 'x', gzip: true }).contents).toMatchObject({ compression: 'gzip' });
    expect(() => fileEntry({ path: 'etc/x', contents: '' })).toThrow(/absolute/);
    expect(() => unitEntry({ name: 'nosuffix' })).toThrow(/unit suffix/);
    expect(() => dropinEntry('10-x', '')).toThrow(/\.conf/);
  });

  it('build a config that validates: disk, partition, filesystem, mount unit, drop-in', () => {
    const config: Config34 = {
      ignition: { version: '3.4.0' },
      kernelArguments: { shouldExist: ['mitigations=auto'] },
      storage: {
        disks: [diskEntry('/dev/disk/by-id/coreos-boot-disk', [partitionEntry({ label: 'data', number: 5, sizeMiB: 0, startMiB: 0 })])],
        filesystems: [filesystemEntry({ device: '/dev/disk/by-partlabel/data', format: 'xfs', path: '/var/mnt', wipeFilesystem: false })],
        files: [fileEntry({ path: '/etc/reef/marker', contents: 'reef\n', mode: octal('0600') })],
      },
      systemd: {
        units: [
          mountUnit({ what: '/dev/disk/by-partlabel/data', where: '/var/mnt', type: 'xfs', install: [['WantedBy', 'local-fs.target']] }),
          unitEntry({ name: 'kubelet.service', dropins: [dropinEntry('10-reef.conf', '[Service]\nEnvironment=X=1\n')] }),
        ],
      },
    };
    expect(validateIgnition(config)).toEqual([]);
    expect(config.systemd!.units![0]!.name).toBe('var-mnt.mount');
  });
});

describe('validator', () => {
  const base = (): Config32 => ({
    ignition: { version: '3.2.0' },
    storage: { files: [{ path: '/usr/local/bin/a.sh', mode: 493, contents: { source: toDataUrl('echo hi\n') } }] },
    systemd: { units: [{ name: 'a.service', enabled: true, contents: '[Service]\nExecStart=/usr/local/bin/a.sh\n' }] },
  });

  it('accepts a good config of each version', () => {
    for (const version of ['3.1.0', '3.2.0', '3.4.0'] as const) {
      expect(validateIgnition({ ...base(), ignition: { version } })).toEqual([]);
    }
  });

  it('flags a mode written as octal digits (755, 644) and names the decimal meant', () => {
    const c = base();
    c.storage!.files![0]!.mode = 755;
    c.storage!.directories = [{ path: '/var/x', mode: 644 }];
    expect(validateIgnition(c)).toEqual([
      { path: 'storage.files[0].mode', message: expect.stringContaining('if 0755 was meant, write 493') },
      { path: 'storage.directories[0].mode', message: expect.stringContaining('if 0644 was meant, write 420') },
    ]);
  });

  it('accepts decimal modes up to 0777 even when their digits look octal (420 = 0644), refuses out-of-range ones', () => {
    const c = base();
    c.storage!.files![0]!.mode = 420;
    expect(validateIgnition(c)).toEqual([]);
    c.storage!.files![0]!.mode = 4755;
    expect(validateIgnition(c)).toEqual([{ path: 'storage.files[0].mode', message: expect.stringMatching(/outside 0–07777.*write 2541/) }]);
    c.storage!.files![0]!.mode = 2541; // 04755 written correctly, decimal digits all octal: the documented false positive
    expect(validateIgnition(c)[0]?.message).toMatch(/looks like octal/);
  });

  it('flags a unit without a suffix and a mount unit not named after Where=', () => {
    const c = base();
    c.systemd!.units!.push(
      { name: 'precache-images', contents: '[Service]\nExecStart=/bin/true\n' },
      { name: 'mnt.mount', contents: '[Mount]\nWhat=/dev/disk/by-partlabel/data\nWhere=/var/mnt\n' },
      { name: 'var-lib-x.mount', contents: '[Unit]\nDescription=no where\n' },
    );
    expect(validateIgnition(c)).toEqual([
      { path: 'systemd.units[1].name', message: expect.stringContaining('has no valid unit suffix') },
      { path: 'systemd.units[2].name', message: 'a mount unit for Where=/var/mnt must be named var-mnt.mount, not mnt.mount' },
      { path: 'systemd.units[3].contents', message: expect.stringContaining('no Where=') },
    ]);
  });

  it('flags unknown keys at the top level and nested, and keys from a later spec', () => {
    const c = base() as unknown as Record<string, any>;
    c.sytemd = {};
    c.storage.files[0].mdoe = 420;
    c.systemd.units[0].enable = true;
    expect(validateIgnition(c)).toEqual([
      { path: 'storage.files[0].mdoe', message: 'unknown key' },
      { path: 'systemd.units[0].enable', message: 'unknown key' },
      { path: 'sytemd', message: 'unknown key' },
    ]);
    const v31 = { ignition: { version: '3.1.0' }, kernelArguments: { shouldExist: ['a'] }, storage: { luks: [{ name: 'x' }] } };
    expect(validateIgnition(v31)).toEqual([
      { path: 'kernelArguments', message: 'unknown key' },
      { path: 'storage.luks', message: 'unknown key' },
    ]);
  });

  it('flags a wrong or missing version, and a version not allowed for the use', () => {
    expect(validateIgnition({ ignition: { version: '3.3.0' } })).toEqual([
      { path: 'ignition.version', message: 'version "3.3.0" is not accepted here; use 3.1.0, 3.2.0, 3.4.0' },
    ]);
    expect(validateIgnition({ ignition: { version: '3.4.0' } }, { versions: ['3.1.0', '3.2.0'] })).toEqual([
      { path: 'ignition.version', message: 'version "3.4.0" is not accepted here; use 3.1.0, 3.2.0' },
    ]);
    expect(validateIgnition({ storage: {} })).toEqual([{ path: 'ignition.version', message: 'required: a string such as "3.2.0"' }]);
    expect(validateIgnition({ ignition: { version: 3.2 } })[0]?.path).toBe('ignition.version');
  });

  it('flags data URLs that do not decode, and gzip data that does not gunzip', () => {
    const c = base();
    c.storage!.files![0]!.contents!.source = 'data:;base64,not base64!';
    c.storage!.files!.push({ path: '/etc/b', contents: { source: toDataUrl('plain'), compression: 'gzip' } });
    c.ignition.config = { merge: [{ source: 'data:,%zz' }] };
    expect(validateIgnition(c)).toEqual([
      { path: 'ignition.config.merge[0].source', message: expect.stringContaining('bad percent escape') },
      { path: 'storage.files[0].contents.source', message: expect.stringContaining('not valid base64') },
      { path: 'storage.files[1].contents.compression', message: expect.stringContaining('does not gunzip') },
    ]);
  });

  it('reports every problem at once: schema types, required fields, rules', () => {
    const c = {
      ignition: { version: '3.2.0' },
      storage: { files: [{ mode: '0755' }, { path: 'relative', mode: 755 }, { path: '/usr/local/bin/a.sh' }, { path: '/usr/local/bin/a.sh' }] },
      systemd: { units: [{ contents: 'x' }, { name: 'a.target', dropins: [{ name: '10-x' }] }] },
    };
    expect(validateIgnition(c)).toEqual([
      { path: 'storage.files[0].path', message: 'required' },
      { path: 'storage.files[0].mode', message: 'must be integer or null, got string' },
      { path: 'systemd.units[0].name', message: 'required' },
      { path: 'storage.files[1].path', message: expect.stringContaining('must be absolute') },
      { path: 'storage.files[1].mode', message: expect.stringContaining('write 493') },
      { path: 'storage.files[3].path', message: 'duplicate path /usr/local/bin/a.sh' },
      { path: 'systemd.units[1].dropins[0].name', message: expect.stringContaining('must end in .conf') },
    ]);
  });

  it('refuses schemas using keywords it cannot evaluate', () => {
    expect(() => createSchemaValidator({ type: 'object', properties: { a: { type: 'string', pattern: 'x' } as never } })).toThrow(/"pattern" is not supported/);
  });
});
