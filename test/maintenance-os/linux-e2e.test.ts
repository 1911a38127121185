import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certFingerprint } from '../../src/lib/cert-fingerprint.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { pushToReef, runAgent, succeededWithSteps, teardown } from './helpers/agent.js';
import { attachDisk, blkid, canUseLoopDisks, partitionTable, sh } from './helpers/disk.js';
import { buildRootfs } from './helpers/rootfs.js';

const TOOLS = ['mtype', 'mcopy', 'sgdisk', 'partx', 'losetup', 'mkfs.vfat', 'mkfs.ext4', 'mkswap', 'blkid', 'tar', 'setfattr', 'getfattr', 'mknod', 'xorriso'];
const ok = canUseLoopDisks(TOOLS);

/** The kernel command line /boot.ipxe gives a machine with an active job, as iPXE would boot it. */
const bootCmdline = async (reef: TestReef, serial: string) => {
  const script = await (await reef.req(`/boot.ipxe?serial=${serial}`)).text();
  const kernel = /^kernel (\S+) (.+)$/m.exec(script);
  if (!kernel) throw new Error(`no kernel line in the boot script:\n${script}`);
  return `BOOT_IMAGE=/vmlinuz quiet ${kernel[2]}\n`;
};

/** Over TLS, as a site runs it: REEF_TLS=auto, the maintenance OS pinning the site CA by reef.ca= from the boot script. */
const TLS_REEF = { REEF_TLS: 'auto', REEF_BOOT_KERNEL: '/media/maintenance/vmlinuz', REEF_BOOT_INITRD: '/media/maintenance/initrd.img' };

describe.runIf(ok)('reef agent: Linux install on a 3 GiB loop disk', () => {
  let reef: TestReef;
  let dir: string;
  let disk: Awaited<ReturnType<typeof attachDisk>>;
  let job: { job_id: string };
  let agent: { code: number | null; output: string };
  const check = () => join(dir, 'check');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reef-agent-linux-'));
    reef = await startTestReef(TLS_REEF);
    const host = reef.url.replace(/^https:\/\//, '');
    const tarball = buildRootfs(dir, {
      gzip: true,
      extra: (tree) => {
        mkdirSync(join(tree, 'var/log'), { recursive: true });
        writeFileSync(join(tree, 'var/log/install.log'), 'on /var\n');
      },
    });
    await pushToReef(reef, 'os-images/test-rootfs:1', tarball);

    disk = await attachDisk(join(dir, 'disk.img'), '3G');
    const recipe = {
      task_target: 'install-linux.target',
      target_disk: disk.dev,
      oci_url: `${host}/os-images/test-rootfs:1`,
      partitions: [
        { mount: '/boot/efi', size: '512M', fstype: 'vfat' },
        { mount: 'swap', size: '256M' },
        { mount: '/', size: '1500M', fstype: 'ext4' },
        { mount: '/var', size: '0', fstype: 'xfs' },
      ],
      cloud_init: { hostname: 'node01.example.com', users: [{ name: 'admin', ssh_authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvK admin@example'] }] },
    };
    const created = await reef.json('POST', '/api/v1/jobs', { server_serial: 'LINUX-E2E', recipe });
    expect(created.status).toBe(202);
    job = created.body;
    // Boot the way iPXE does: the kernel command line of /boot.ipxe (controller, job, token, CA pin).
    const cmdline = join(dir, 'cmdline');
    writeFileSync(cmdline, await bootCmdline(reef, 'LINUX-E2E'));
    expect(readFileSync(cmdline, 'utf8')).toMatch(/reef\.controller=https:\/\/\S+ reef\.job=\S+ reef\.token=\S+ reef\.ca=sha256:[0-9a-f]{64}/);
    agent = await runAgent(['--cmdline', cmdline], dir);
    mkdirSync(check());
  }, 240_000);

  afterAll(() => teardown({ mounts: [check()], disk, reef, dir }));

  it('exits 0 and the job succeeds, with every step reported', async () => {
    const steps = ['partition', 'format', 'mount', 'pull', 'fstab', 'cloud-init', 'bootloader', 'finish'];
    const { messages, events } = await succeededWithSteps(reef, job.job_id, agent, steps);
    for (const step of steps) expect(messages.some((m: string) => m.startsWith(`${step}: done`) || m.startsWith(`${step}: skipped`))).toBe(true);
    expect(messages.some((m: string) => /^bootloader: skipped — the rootfs has no GRUB/.test(m))).toBe(true);
    // Succeeded, but saying the disk will not boot without a boot loader of its own.
    expect(messages.at(-1)).toMatch(/^install-linux\.target completed on \S+ — the disk will not boot by itself: the rootfs has no GRUB for UEFI/);
    const progress = events.filter((e: { bytes_total: number | null }) => e.bytes_total !== null);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)!.bytes_done).toBe(progress.at(-1)!.bytes_total);
  });

  it('lays out the GPT as the recipe says: names, types, sizes', () => {
    const table = partitionTable(disk.dev);
    expect(table.map((p) => [p.number, p.code, p.name])).toEqual([
      [1, 'EF00', 'EFI'],
      [2, '8200', 'swap'],
      [3, '8300', 'root'],
      [4, '8300', 'var'],
    ]);
    const sectors = (p: { start: number; end: number }) => p.end - p.start + 1;
    expect(sectors(table[0]!) * 512).toBe(512 * 2 ** 20);
    expect(sectors(table[1]!) * 512).toBe(256 * 2 ** 20);
    expect(sectors(table[2]!) * 512).toBe(1500 * 2 ** 20);
    expect(table[3]!.end).toBeGreaterThan((3 * 2 ** 30) / 512 - 2100);
  });

  it('makes the filesystems with their labels', () => {
    expect(blkid(`${disk.dev}p1`)).toMatchObject({ TYPE: 'vfat', LABEL: 'EFI' });
    expect(blkid(`${disk.dev}p2`)).toMatchObject({ TYPE: 'swap', LABEL: 'swap' });
    expect(blkid(`${disk.dev}p3`)).toMatchObject({ TYPE: 'ext4', LABEL: 'root' });
    expect(blkid(`${disk.dev}p4`)).toMatchObject({ TYPE: 'xfs', LABEL: 'var' });
  });

  it('extracts the tree keeping modes, owners, links, device nodes and xattrs', async () => {
    await sh('mount', ['-o', 'ro', `${disk.dev}p3`, check()]);
    const root = check();
    expect(readFileSync(join(root, 'etc/os-release'), 'utf8')).toContain('ID=reeftest');
    expect(statSync(join(root, 'usr/bin/su-helper')).mode & 0o7777).toBe(0o4755);
    expect(statSync(join(root, 'usr/bin/tool')).mode & 0o7777).toBe(0o755);
    const notes = statSync(join(root, 'home/ops/notes.txt'));
    expect([notes.uid, notes.gid, notes.mode & 0o777]).toEqual([1000, 1000, 0o640]);
    expect(readlinkSync(join(root, 'usr/bin/tool-symlink'))).toBe('/usr/bin/tool');
    expect(statSync(join(root, 'usr/bin/tool-hardlink')).ino).toBe(statSync(join(root, 'usr/bin/tool')).ino);
    const dev = lstatSync(join(root, 'dev/null'));
    expect(dev.isCharacterDevice()).toBe(true);
    expect([Math.floor(dev.rdev / 256), dev.rdev % 256]).toEqual([1, 3]);
    expect((await sh('getfattr', ['--only-values', '-n', 'user.reef.test', join(root, 'etc/os-release')])).stdout).toBe('kept');
    expect(existsSync(join(root, 'boot/efi/EFI'))).toBe(false); // on the ESP, not on the root filesystem
    expect(readdirSync(root).filter((n) => n.startsWith('.reef-extract'))).toEqual([]);
  });

  it('puts the files under /boot/efi onto the ESP (read back from the FAT with mtools)', async () => {
    const { stdout } = await sh('mtype', ['-i', `${disk.dev}p1`, '::/EFI/test/marker.txt']);
    expect(stdout).toBe('on the ESP\n');
  });

  it('writes what the image has under /var onto the /var filesystem, not the root one', async () => {
    const v = join(dir, 'var');
    mkdirSync(v);
    await sh('mount', ['-o', 'ro', `${disk.dev}p4`, v]);
    try {
      expect(readFileSync(join(v, 'log/install.log'), 'utf8')).toBe('on /var\n');
      expect(existsSync(join(v, 'lib/cloud/seed/nocloud/user-data'))).toBe(true);
    } finally {
      await sh('umount', [v]);
    }
    expect(readdirSync(join(check(), 'var'))).toEqual([]); // the root filesystem holds only the mount point
  });

  it('writes fstab by UUID and the NoCloud seed', async () => {
    const fstab = readFileSync(join(check(), 'etc/fstab'), 'utf8');
    const uuid = (n: number) => blkid(`${disk.dev}p${n}`).UUID;
    expect(fstab).toContain(`UUID=${uuid(3)} / ext4 defaults,errors=remount-ro 0 1`);
    expect(fstab).toContain(`UUID=${uuid(1)} /boot/efi vfat umask=0077 0 2`);
    expect(fstab).toContain(`UUID=${uuid(2)} none swap sw 0 0`);
    expect(fstab).toContain(`UUID=${uuid(4)} /var xfs defaults 0 0`);
    const v = join(dir, 'var-seed');
    mkdirSync(v);
    await sh('mount', ['-o', 'ro', `${disk.dev}p4`, v]);
    const seed = join(v, 'lib/cloud/seed/nocloud');
    try {
      const userData = readFileSync(join(seed, 'user-data'), 'utf8');
      expect(userData.startsWith('#cloud-config\n')).toBe(true);
      expect(userData).toContain('hostname: node01');
      expect(userData).toContain('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvK admin@example');
      expect(readFileSync(join(seed, 'meta-data'), 'utf8')).toBe(`instance-id: ${job.job_id.toLowerCase()}\nlocal-hostname: node01.example.com\n`);
      expect(statSync(join(seed, 'user-data')).mode & 0o777).toBe(0o600);
    } finally {
      await sh('umount', [v]);
    }
  });
});

describe('reef agent over TLS: a controller presenting another certificate', () => {
  it('is refused before anything is touched, with a message naming the pin and the controller', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-agent-pin-'));
    const trusted = await startTestReef(TLS_REEF);
    const other = await startTestReef(TLS_REEF);
    try {
      const created = await other.json('POST', '/api/v1/jobs', { server_serial: 'PIN-1', recipe: JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8')) });
      expect(created.status).toBe(202);
      // The boot script of `other`, but with the CA pin of `trusted`: what a machine sees when something else answers for its controller.
      const trustedPin = certFingerprint(readFileSync(join(trusted.dataDir, 'tls', 'ca.crt'), 'utf8'));
      const line = (await bootCmdline(other, 'PIN-1')).replace(/reef\.ca=\S+/, `reef.ca=${trustedPin}`);
      const cmdline = join(dir, 'cmdline');
      writeFileSync(cmdline, line);
      const agent = await runAgent(['--cmdline', cmdline], dir);
      expect(agent.code).not.toBe(0);
      expect(agent.output).toContain(trustedPin);
      expect(agent.output).toMatch(new RegExp(`${other.url.replace(/[.:/]/g, '\\$&')}`));
      expect(agent.output).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
      const job = await other.json('GET', `/api/v1/jobs/${created.body.job_id}`);
      expect(job.body.status).not.toBe('succeeded');
    } finally {
      await trusted.stop();
      await other.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
