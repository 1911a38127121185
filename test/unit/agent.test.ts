import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Partition } from '../../src/recipes/recipe-normalize.js';
import { checkLayoutFits, fsLabel, mkfsCommand, sgdiskCreateArgs } from '../../src/maintenance-os/disk.js';
import { detectCompression, unsafeMember } from '../../src/maintenance-os/extract.js';
import { createReporter, ReportRejected } from '../../src/maintenance-os/reporter.js';
import { renderFstab } from '../../src/maintenance-os/steps-linux.js';
import { parseCmdline, recipeFrom } from '../../src/maintenance-os/task.js';

const part = (number: number, size: string, bytes: number, extra: Partial<Partition> = {}): Partition => ({
  number,
  size,
  size_bytes: bytes,
  type_guid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  format: 'ext4',
  label: `p${number}`,
  mountpoint: null,
  bootable: false,
  role: 'data',
  ...extra,
});
const MIB = 2 ** 20;

describe('disk layout', () => {
  it('accepts a layout that exactly fits and refuses one sector more', () => {
    const disk = 100 * MIB;
    const usable = disk - MIB - 33 * 512; // 1 MiB before the first partition, 33 sectors of backup GPT after the last
    expect(() => checkLayoutFits([part(1, 'x', usable)], disk)).not.toThrow();
    expect(() => checkLayoutFits([part(1, 'x', usable + 512)], disk)).toThrow(/does not fit the disk: partition 1/);
    expect(() => checkLayoutFits([part(1, '50M', 50 * MIB), part(2, '0', 0)], disk)).not.toThrow();
    expect(() => checkLayoutFits([part(1, '98M', 98 * MIB), part(2, '0', 0)], disk)).toThrow(/partition 2 \(p2, rest of disk\)/);
  });

  it('builds one sgdisk call: sizes in KiB, rest of disk as 0, type GUIDs and names', () => {
    expect(sgdiskCreateArgs([part(1, '512M', 512 * MIB, { label: 'EFI' }), part(2, '0', 0, { label: null })], '/dev/sdb')).toEqual([
      '-n', '1:0:+524288K', '-t', '1:0FC63DAF-8483-4772-8E79-3D69D8477DE4', '-c', '1:EFI',
      '-n', '2:0:0', '-t', '2:0FC63DAF-8483-4772-8E79-3D69D8477DE4',
      '/dev/sdb',
    ]);
  });

  it('gives mkfs.ntfs the start sector and geometry, and cuts labels to the filesystem limit', () => {
    expect(mkfsCommand(part(3, '0', 0, { format: 'ntfs', label: 'Windows' }), '/dev/sda3', 1314816)).toEqual([
      'mkfs.ntfs', ['-Q', '-F', '-L', 'Windows', '-p', '1314816', '-H', '255', '-S', '63', '/dev/sda3'],
    ]);
    expect(fsLabel('vfat', 'efi-system-partition')).toBe('EFI-SYSTEM-');
    expect(fsLabel('xfs', 'a-very-long-label')).toBe('a-very-long-');
    expect(mkfsCommand(part(2, '128M', 128 * MIB, { format: null }), '/dev/sda2', 0)).toBeNull();
  });
});

describe('rootfs extraction checks', () => {
  it('refuses absolute paths, .. and paths through a symlink from the archive', () => {
    const links = new Set(['lib', 'usr/share/evil']);
    expect(unsafeMember('./etc/passwd', links)).toBeNull();
    expect(unsafeMember('usr/lib/x', links)).toBeNull();
    expect(unsafeMember('/etc/passwd', links)).toBe('absolute path');
    expect(unsafeMember('../evil', links)).toBe('path with ..');
    expect(unsafeMember('a/../../evil', links)).toBe('path with ..');
    expect(unsafeMember('./lib/x.so', links)).toBe('path through the symlink lib');
    expect(unsafeMember('usr/share/evil/x', links)).toBe('path through the symlink usr/share/evil');
  });

  it('detects compression from magic bytes', () => {
    expect(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]))).toBe('gzip');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]))).toBe('zstd');
    expect(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toBe('xz');
    expect(detectCompression(Buffer.from('BZh91AY'))).toBe('bzip2');
    expect(detectCompression(Buffer.from('./etc/\0\0\0'))).toBe('none');
  });
});

describe('task', () => {
  it('reads reef.* words from a kernel command line', () => {
    expect(parseCmdline('BOOT_IMAGE=/vmlinuz reef.controller=http://10.0.0.1:8080 quiet reef.job=01ABC reef.token=t0k\n')).toEqual({
      controller: 'http://10.0.0.1:8080',
      job: '01ABC',
      token: 't0k',
    });
  });

  it('takes a recipe as users write it (Shoal form) and normalises it, adding the ESP', () => {
    const r = recipeFrom(JSON.parse(readFileSync('recipes/windows-server.json', 'utf8')));
    expect(r.partitions.map((p) => [p.number, p.role])).toEqual([
      [1, 'esp'],
      [2, 'msr'],
      [3, 'windows'],
    ]);
    expect(() => recipeFrom({ task_target: 'install-linux.target', target_disk: 'sda' })).toThrow(/target_disk/);
  });

  it('writes fstab by UUID with sensible options and fsck passes', () => {
    expect(
      renderFstab([
        { uuid: 'A', mountpoint: '/', format: 'ext4' },
        { uuid: 'B', mountpoint: '/boot/efi', format: 'vfat' },
        { uuid: 'C', mountpoint: '/var', format: 'xfs' },
        { uuid: 'D', mountpoint: 'none', format: 'swap' },
      ]).split('\n').slice(2),
    ).toEqual(['UUID=A / ext4 defaults,errors=remount-ro 0 1', 'UUID=B /boot/efi vfat umask=0077 0 2', 'UUID=C /var xfs defaults 0 0', 'UUID=D none swap sw 0 0', '']);
  });
});

describe('reporter', () => {
  let server: http.Server | undefined;
  afterEach(() => server?.close());
  const listen = async (handler: (body: Record<string, unknown>, res: http.ServerResponse) => void) => {
    server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (d) => (text += d));
      req.on('end', () => handler({ ...JSON.parse(text), auth: req.headers.authorization }, res));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/events`;
  };

  it('retries a report through 503s with the same delivery id and the bearer token', async () => {
    const got: Record<string, unknown>[] = [];
    const url = await listen((body, res) => {
      got.push(body);
      res.writeHead(got.length < 3 ? 503 : 200).end('{}');
    });
    const lines: string[] = [];
    const reporter = createReporter({ callbackUrl: url, token: 'tok', log: (l) => lines.push(l), backoffMs: 5 });
    await reporter.send({ step: 'pull', message: 'pull: started' });
    expect(got).toHaveLength(3);
    expect(new Set(got.map((b) => b.delivery_id)).size).toBe(1);
    expect(got[0]).toMatchObject({ step: 'pull', auth: 'Bearer tok', level: 'info' });
    expect(JSON.parse(lines[0]!)).toMatchObject({ step: 'pull', message: 'pull: started' });
  });

  it('stops on a 401 with the controller\'s message, and refuses further reports', async () => {
    const url = await listen((_b, res) => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":"UNAUTHORIZED","message":"missing or wrong bearer token"}}'));
    const reporter = createReporter({ callbackUrl: url, token: 'bad', log: () => {} });
    const err = await reporter.send({ step: 'partition' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReportRejected);
    expect((err as Error).message).toBe("the controller rejected the agent's report (HTTP 401): missing or wrong bearer token");
    await expect(reporter.send({ step: 'format' })).rejects.toBeInstanceOf(ReportRejected);
  });

  it('sends progress at most once per interval, always the final figure', async () => {
    const got: Record<string, unknown>[] = [];
    const url = await listen((body, res) => {
      got.push(body);
      res.writeHead(200).end('{}');
    });
    let t = 0;
    const reporter = createReporter({ callbackUrl: url, token: 't', log: () => {}, now: () => t });
    for (let i = 1; i <= 100; i++) {
      t = i * 50; // 5 s in all
      reporter.progress('pull', i, 100);
      await new Promise((r) => setImmediate(r));
    }
    await reporter.flush();
    expect(got.length).toBeGreaterThanOrEqual(4);
    expect(got.length).toBeLessThanOrEqual(7);
    expect(got.at(-1)).toMatchObject({ bytes_done: 100, bytes_total: 100 });
  });

  it('keeps the final figure when it comes while the previous report is still on its way (a small blob on a slow link)', async () => {
    const got: Record<string, unknown>[] = [];
    const url = await listen((body, res) => {
      got.push(body);
      setTimeout(() => res.writeHead(200).end('{}'), 150);
    });
    const reporter = createReporter({ callbackUrl: url, token: 't', log: () => {} });
    reporter.progress('pull', 0, 1193);
    reporter.progress('pull', 1193, 1193);
    await reporter.flush();
    expect(got.map((b) => b.bytes_done)).toEqual([0, 1193]);
  });
});
