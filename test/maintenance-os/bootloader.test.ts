import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestReef } from '../helpers/server.js';
import { pushToReef, runAgent, teardown } from './helpers/agent.js';
import { attachDisk, canUseLoopDisks } from './helpers/disk.js';
import { buildRootfs } from './helpers/rootfs.js';

const ok = canUseLoopDisks(['sgdisk', 'partx', 'losetup', 'mkfs.vfat', 'mkfs.ext4', 'blkid', 'tar', 'setfattr', 'mknod', 'mcopy', 'mdir']);

/** Installs a rootfs shaped by `extra` on a 1 GiB loop disk (ESP + root) through reef; the job and the agent's exit code. */
const install = async (name: string, extra: (tree: string) => void, opts: { job?: Record<string, unknown>; agentArgs?: string[]; env?: Record<string, string> } = {}) => {
  const dir = mkdtempSync(join(tmpdir(), `reef-boot-${name}-`));
  const reef = await startTestReef();
  const disk = await attachDisk(join(dir, 'disk.img'), '1G');
  const cleanup = () => teardown({ disk, reef, dir });
  try {
    await pushToReef(reef, `os-images/${name}:1`, buildRootfs(dir, { gzip: true, extra }));
    const recipe = {
      task_target: 'install-linux.target',
      target_disk: disk.dev,
      oci_url: `${new URL(reef.url).host}/os-images/${name}:1`,
      partitions: [
        { mount: '/boot/efi', size: '256M', fstype: 'vfat' },
        { mount: '/', size: '0', fstype: 'ext4' },
      ],
    };
    const created = await reef.json('POST', '/api/v1/jobs', { server_serial: `BOOT-${name}`, recipe, ...opts.job });
    const task = join(dir, 'task');
    mkdirSync(task);
    const iso = Buffer.from(await (await reef.req(`/media/tasks/${created.body.job_id}/task.iso`)).arrayBuffer());
    writeFileSync(join(dir, 'task.iso'), iso);
    const agent = await runAgent(['--task', join(dir, 'task.iso'), ...(opts.agentArgs ?? [])], dir, opts.env);
    const job = (await reef.json('GET', `/api/v1/jobs/${created.body.job_id}`)).body;
    return { agent, job, dir, messages: job.events.map((e: { message: string }) => e.message) as string[], cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
};

/** A `systemctl` that records its arguments: the machine's reboot, seen without rebooting this one. */
const recordingSystemctl = () => {
  const bin = mkdtempSync(join(tmpdir(), 'reef-fake-systemctl-'));
  const calls = join(bin, 'calls');
  writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$@" >> ${calls}\n`, { mode: 0o755 });
  return { env: { PATH: `${bin}:${process.env.PATH ?? ''}` }, calls: () => (existsSync(calls) ? readFileSync(calls, 'utf8') : '') };
};
describe.runIf(ok)('the bootloader step never leaves an unbootable disk silently', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('an image bringing its own EFI binary under /boot/efi is a bootable install, no caveat; without --apply-after nothing reboots', async () => {
    const sys = recordingSystemctl();
    const r = await install('own-efi', (tree) => {
      mkdirSync(join(tree, 'boot/efi/EFI/BOOT'), { recursive: true });
      writeFileSync(join(tree, 'boot/efi/EFI/BOOT/BOOTX64.EFI'), Buffer.from('MZ not really a PE, but a file where firmware looks'));
    }, { env: sys.env });
    expect(sys.calls()).toBe('');
    cleanup = r.cleanup;
    expect(r.agent.code, r.agent.output).toBe(0);
    expect(r.job.status).toBe('succeeded');
    expect(r.messages.find((m) => m.startsWith('bootloader: done'))).toMatch(/the image brings its own boot loader on the ESP \(EFI\/BOOT\/BOOTX64\.EFI\)/);
    expect(r.messages.at(-1)).not.toContain('will not boot');
  }, 120_000);

  it('an image carrying GRUB that cannot be installed fails the job at the bootloader step, with the reason', async () => {
    const r = await install('grub-broken', (tree) => {
      mkdirSync(join(tree, 'usr/sbin'), { recursive: true });
      mkdirSync(join(tree, 'usr/lib/grub/x86_64-efi'), { recursive: true });
      // A grub-install that cannot run in the chroot (no shell there); on this kernel vfat may be missing too.
      writeFileSync(join(tree, 'usr/sbin/grub-install'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    });
    cleanup = r.cleanup;
    expect(r.agent.code).toBe(1);
    expect(r.job.status).toBe('failed');
    expect(r.job.failed_step).toBe('bootloader');
    expect(r.job.reason).toMatch(/the disk would not boot|grub-install|chroot/);
    expect(r.messages.some((m) => m.startsWith('finish:'))).toBe(false);
  }, 120_000);

  const ownEfi = (tree: string) => {
    mkdirSync(join(tree, 'boot/efi/EFI/BOOT'), { recursive: true });
    writeFileSync(join(tree, 'boot/efi/EFI/BOOT/BOOTX64.EFI'), 'MZ');
  };

  it('with --apply-after the agent reboots once the final report is delivered (the default)', async () => {
    const sys = recordingSystemctl();
    const r = await install('after-reboot', ownEfi, { agentArgs: ['--apply-after'], env: sys.env });
    cleanup = r.cleanup;
    expect(r.agent.code, r.agent.output).toBe(0);
    expect(r.job.status).toBe('succeeded');
    expect(sys.calls()).toBe('reboot\n');
    expect(r.agent.output).toMatch(/"message":"after: reboot"/);
    // The reboot came after the final report: the job was already succeeded when it was asked for.
    expect(r.agent.output.indexOf('"status":"succeeded"')).toBeLessThan(r.agent.output.indexOf('after: reboot'));
  }, 120_000);

  it('a job saying after: poweroff powers off; after: none leaves the machine up; a failed install reboots nothing', async () => {
    const off = recordingSystemctl();
    const r1 = await install('after-off', ownEfi, { job: { after: 'poweroff' }, agentArgs: ['--apply-after'], env: off.env });
    await r1.cleanup();
    expect(r1.job.status).toBe('succeeded');
    expect(off.calls()).toBe('poweroff\n');
    const none = recordingSystemctl();
    const r2 = await install('after-none', ownEfi, { job: { after: 'none' }, agentArgs: ['--apply-after'], env: none.env });
    await r2.cleanup();
    expect(r2.job.status).toBe('succeeded');
    expect(none.calls()).toBe('');
    const failed = recordingSystemctl();
    const r3 = await install('after-failed', (tree) => {
      mkdirSync(join(tree, 'usr/sbin'), { recursive: true });
      mkdirSync(join(tree, 'usr/lib/grub/x86_64-efi'), { recursive: true });
      writeFileSync(join(tree, 'usr/sbin/grub-install'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    }, { agentArgs: ['--apply-after'], env: failed.env });
    cleanup = r3.cleanup;
    expect(r3.job.status).toBe('failed');
    expect(failed.calls()).toBe('');
  }, 240_000);
});
