/**
 * Copying artifacts: for real into local directories (allowed bases, symlinks and escapes
 * refused), and over scp to an OpenSSH sshd on 127.0.0.1 (host keys checked: a host whose key
 * is not the known one gets nothing), with the destination's checks and scp's arguments.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/core/errors.js';
import { copyArtifact, CopyError, parseDestination, scpArgs } from '../../src/releases/copy/index.js';
import { noise } from '../helpers/bytes.js';
import { startSshd, SSHD_BIN } from '../helpers/sshd.js';
import { requireAvailable, requireTool } from '../helpers/tools.js';

const refusedField = async (p: Promise<unknown>) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DomainError);
  expect((err as DomainError).details.map((d) => d.path)).toEqual(['destination']);
  return (err as DomainError).message;
};

describe('copying an artifact to a local directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-copy-'));
  const base = join(dir, 'srv');
  const outside = join(dir, 'outside');
  mkdirSync(base);
  mkdirSync(outside);
  const file = join(dir, 'coreos.iso');
  writeFileSync(file, noise(3 * 1024 * 1024 + 17, 5));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('copies under the allowed base (directories made), replacing a file by rename, with progress', async () => {
    const seen: [number, number][] = [];
    const r = await copyArtifact({ file, destination: `${base}/tftp/iso/`, allowedBases: [base], onProgress: (d, t) => seen.push([d, t]) });
    expect(r).toEqual({ kind: 'local', target: join(base, 'tftp', 'iso', 'coreos.iso'), bytes: statSync(file).size });
    expect(readFileSync(r.target).equals(readFileSync(file))).toBe(true);
    expect(seen.at(-1)).toEqual([statSync(file).size, statSync(file).size]);
    const inode = statSync(r.target).ino;
    const named = await copyArtifact({ file, destination: `${base}/tftp/iso/coreos.iso`, allowedBases: [base] });
    expect(named.target).toBe(r.target);
    expect(statSync(r.target).ino).not.toBe(inode);
  });

  it('refuses what leaves the base: another directory, .., a symlinked directory or file on the way', async () => {
    expect(await refusedField(copyArtifact({ file, destination: `${outside}/`, allowedBases: [base] }))).toMatch(/not under an allowed directory/);
    expect(await refusedField(copyArtifact({ file, destination: `${base}/../outside/`, allowedBases: [base] }))).toMatch(/\.\./);
    symlinkSync(outside, join(base, 'link'));
    expect(await refusedField(copyArtifact({ file, destination: `${base}/link/`, allowedBases: [base] }))).toMatch(/symlink/);
    mkdirSync(join(base, 'd'));
    symlinkSync(join(outside, 'victim'), join(base, 'd', 'coreos.iso'));
    expect(await refusedField(copyArtifact({ file, destination: `${base}/d/`, allowedBases: [base] }))).toMatch(/symlink/);
    expect(existsSync(join(outside, 'victim'))).toBe(false);
    expect(await refusedField(copyArtifact({ file, destination: `${base}/x/`, allowedBases: [] }))).toMatch(/none configured/);
  });
});

describe('copying an artifact over scp', () => {
  const ssh = { knownHostsFile: '/etc/reef/known_hosts' };

  it('takes the seed example and runs scp with host keys checked, never a shell', () => {
    const to = parseDestination('root@pxe.gw.lo:/srv/tftp/iso/');
    expect(to).toEqual({ kind: 'remote', user: 'root', host: 'pxe.gw.lo', path: '/srv/tftp/iso/' });
    if (to.kind !== 'remote') throw new Error('remote expected');
    const args = scpArgs('/data/releases/4.21.0/x86_64/coreos.iso', to, { ...ssh, port: 2222, identityFile: '/etc/reef/id_ed25519' });
    expect(args).toEqual([
      '-s',
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'UserKnownHostsFile=/etc/reef/known_hosts',
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'ConnectTimeout=30',
      '-i', '/etc/reef/id_ed25519', '-o', 'IdentitiesOnly=yes',
      '-P', '2222',
      '--', '/data/releases/4.21.0/x86_64/coreos.iso', 'root@pxe.gw.lo:/srv/tftp/iso/',
    ]);
    expect(parseDestination('[fd00::5]:/srv/iso/')).toEqual({ kind: 'remote', host: '[fd00::5]', path: '/srv/iso/' });
  });

  it.each([
    ['-oProxyCommand=touch /tmp/pwned', /start with "-"/],
    ['root@pxe.gw.lo:-rf', /starting with "-"/],
    ['root@pxe.gw.lo:/srv/-o/x', /starting with "-"/],
    ['root@pxe;reboot:/srv/', /host/],
    ['-x@pxe.gw.lo:/srv/', /start with "-"/],
    ['ro ot@pxe.gw.lo:/srv/', /whitespace/],
    ['root@pxe.gw.lo:/srv/$(reboot)', /may hold only/],
    ['root@pxe.gw.lo:/srv/`id`', /may hold only/],
    ['root@pxe.gw.lo:', /no path/],
    ['pxe.gw.lo', /absolute local path, or/],
    ['relative/dir/', /absolute local path, or/],
    ["/srv/it's", /may hold only/],
    ['r$t@pxe.gw.lo:/srv/', /not a login name/],
  ])('refuses %j naming the destination', async (destination, why) => {
    expect(await refusedField(copyArtifact({ file: '/nonexistent', destination, allowedBases: ['/srv'], ssh }))).toMatch(why);
  });

  it('refuses a remote copy without known hosts', async () => {
    expect(await refusedField(copyArtifact({ file: '/nonexistent', destination: 'root@pxe.gw.lo:/srv/', allowedBases: [] }))).toMatch(/known_hosts/);
  });

  it.runIf(requireTool('scp'))('reports a failed scp as a CopyError, with what scp said', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-scp-'));
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const file = join(dir, 'oc');
      writeFileSync(file, 'oc');
      writeFileSync(join(dir, 'known_hosts'), '');
      const port = (server.address() as net.AddressInfo).port;
      const err = await copyArtifact({ file, destination: 'nobody@127.0.0.1:/tmp/', allowedBases: [], ssh: { knownHostsFile: join(dir, 'known_hosts'), port } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CopyError);
      expect((err as Error).message).toMatch(/scp to 127\.0\.0\.1 failed \(exit 255\)/);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(requireTool('scp') && requireTool('ssh-keygen') && requireAvailable('sshd', existsSync(SSHD_BIN)))('copies to an sshd over SFTP, and refuses a host whose key is not the known one', async () => {
    const sshd = await startSshd();
    const dir = mkdtempSync(join(tmpdir(), 'reef-scp-real-'));
    try {
      const file = join(dir, 'openshift-install');
      writeFileSync(file, noise(2 * 1024 * 1024 + 3, 9));
      mkdirSync(join(dir, 'dest'));
      const ssh = { knownHostsFile: sshd.knownHosts, identityFile: sshd.identity, port: sshd.port };
      const seen: number[] = [];
      const r = await copyArtifact({ file, destination: `${sshd.user}@127.0.0.1:${dir}/dest/`, allowedBases: [], ssh, onProgress: (d) => seen.push(d) });
      expect(r).toEqual({ kind: 'scp', target: `${sshd.user}@127.0.0.1:${dir}/dest/`, bytes: statSync(file).size });
      expect(readFileSync(join(dir, 'dest', 'openshift-install')).equals(readFileSync(file))).toBe(true);
      expect(seen).toEqual([0, statSync(file).size]);
      const err = await copyArtifact({ file, destination: `${sshd.user}@127.0.0.1:${dir}/other/`, allowedBases: [], ssh: { ...ssh, knownHostsFile: sshd.wrongKnownHosts } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CopyError);
      expect((err as Error).message).toMatch(/Host key verification failed/);
      expect(existsSync(join(dir, 'other'))).toBe(false);
    } finally {
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
