import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { diskFingerprint, jobWithTask, pushToReef, runAgent, teardown } from './helpers/agent.js';
import { attachDisk, canUseLoopDisks, sh } from './helpers/disk.js';
import { buildRootfs } from './helpers/rootfs.js';

const ok = canUseLoopDisks(['sgdisk', 'partx', 'mkfs.ext4', 'mkfs.vfat', 'mcopy', 'tar', 'setfattr', 'xorriso']);
const DISK_SIZE = 2 ** 30;

/** A TCP proxy in front of reef that cuts the first blob download after `cutAfter` response bytes. */
const startCuttingProxy = async (upstreamPort: number, cutAfter: number) => {
  const seen = { cuts: 0, rangeRequests: [] as string[] };
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    let armed = false;
    let sent = 0;
    client.on('data', (d) => {
      const head = d.toString('latin1');
      if (/^GET \/v2\/\S+\/blobs\/sha256:/.test(head)) {
        const range = /\r\nrange: (bytes=\d+-)/i.exec(head);
        if (range) seen.rangeRequests.push(range[1]!);
        else if (seen.cuts === 0) {
          armed = true;
          sent = 0;
        }
      }
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (armed && sent + d.length > cutAfter) {
        client.write(d.subarray(0, cutAfter - sent));
        seen.cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      sent += d.length;
      client.write(d);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, seen, close: () => new Promise((r) => server.close(r)) };
};

describe.runIf(ok)('reef agent: faults', () => {
  let reef: TestReef;
  let dir: string;
  let host: string;
  let disk: Awaited<ReturnType<typeof attachDisk>>;
  let n = 0;
  const work = () => join(dir, `run-${++n}`);
  const layout = [
    { mount: '/boot/efi', size: '64M', fstype: 'vfat' },
    { mount: '/', size: '0', fstype: 'ext4' },
  ];
  const recipe = (oci: string, partitions: unknown = layout) => ({ task_target: 'install-linux.target', target_disk: disk.dev, oci_url: `${host}/${oci}`, partitions });
  const push = (ref: string, file: string) => pushToReef(reef, ref, file);
  const job = async (id: string) => (await reef.json('GET', `/api/v1/jobs/${id}`)).body;
  const rootEntries = async () => {
    const m = join(dir, 'check');
    mkdirSync(m, { recursive: true });
    await sh('mount', ['-o', 'ro', `${disk.dev}p2`, m]);
    try {
      return readdirSync(m).sort();
    } finally {
      await sh('umount', [m]);
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reef-agent-faults-'));
    reef = await startTestReef();
    host = reef.url.replace(/^http:\/\//, '');
    disk = await attachDisk(join(dir, 'disk.img'), String(DISK_SIZE));
    // A rootfs of ~24 MiB (incompressible), for the cut-connection case.
    const big = buildRootfs(join(dir, 'big'), { extra: (tree) => writeFileSync(join(tree, 'usr/bin/blob'), randomBytes(24 * 2 ** 20)) });
    await push('os/big:1', big);
    // A rootfs whose blob is damaged in the registry's storage after the push (inside a file's
    // data, so only the digest can tell).
    const tampered = buildRootfs(join(dir, 'tampered'), { extra: (tree) => writeFileSync(join(tree, 'etc/id'), randomBytes(8 * 2 ** 20)) });
    await push('os/tampered:1', tampered);
    // A tarball with a member that climbs out of the root.
    const pack = tar.pack();
    pack.entry({ name: 'etc/hostname' }, 'ok\n');
    pack.entry({ name: '../evil' }, 'escaped\n');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    writeFileSync(join(dir, 'evil.tar'), Buffer.concat(chunks));
    await push('os/evil:1', join(dir, 'evil.tar'));
    // A rootfs whose etc is a symlink out of the target (to a directory of this test).
    mkdirSync(join(dir, 'outside'));
    const linked = join(dir, 'linked-tree');
    mkdirSync(join(linked, 'usr'), { recursive: true });
    symlinkSync(join(dir, 'outside'), join(linked, 'etc'));
    execFileSync('tar', ['-cf', join(dir, 'linked.tar'), '-C', linked, '.']);
    await push('os/linked:1', join(dir, 'linked.tar'));
  }, 240_000);

  afterAll(() => teardown({ disk, reef, dir }));

  it('--dry-run prints every command and touches nothing', async () => {
    const before = diskFingerprint(disk.dev, DISK_SIZE);
    const w = work();
    const t = await jobWithTask(reef, 'DRY', recipe('os/big:1'), join(w, 'task'));
    const r = await runAgent(['--task', t.dir, '--dry-run'], w);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(`(dry run) sgdisk --zap-all ${disk.dev}`);
    expect(r.output).toMatch(/\(dry run\) sgdisk --clear -n 1:0:\+65536K -t 1:C12A7328-F81F-11D2-BA4B-00A0C93EC93B -c 1:EFI -n 2:0:0/);
    expect(r.output).toContain(`(dry run) mkfs.ext4 -F -q -L root ${disk.dev}p2`);
    expect(r.output).toContain('| tar -x into');
    expect(diskFingerprint(disk.dev, DISK_SIZE)).toBe(before);
    expect((await job(t.jobId)).status).toBe('queued'); // a dry run reports nothing
  });

  it('a wrong token: the controller rejects the report, the agent says so and does not touch the disk', async () => {
    const before = diskFingerprint(disk.dev, DISK_SIZE);
    const w = work();
    const t = await jobWithTask(reef, 'BADTOKEN', recipe('os/big:1'), join(w, 'task'));
    const taskJson = JSON.parse(readFileSync(join(t.dir, 'task.json'), 'utf8'));
    writeFileSync(join(t.dir, 'task.json'), JSON.stringify({ ...taskJson, token: 'not-the-token' }));
    const r = await runAgent(['--task', t.dir], w);
    expect(r.code, r.output).toBe(3);
    expect(r.output).toMatch(/the controller rejected the agent's report \(HTTP 401\)/);
    expect(diskFingerprint(disk.dev, DISK_SIZE)).toBe(before);
    const j = await job(t.jobId);
    expect(j.status).toBe('queued');
    expect(j.events.filter((e: { source: string }) => e.source === 'agent')).toEqual([]);
  });

  it('--print-target names the task target for reef-dispatch.service; --report-failure fails the job for OnFailure=', async () => {
    const w = work();
    const t = await jobWithTask(reef, 'UNITS', recipe('os/big:1'), join(w, 'task'));
    const printed = await runAgent(['--task', t.dir, '--print-target'], w);
    expect([printed.code, printed.output.trim()]).toEqual([0, 'install-linux.target']);
    const reported = await runAgent(['--task', t.dir, '--report-failure', 'reef-linux-pull.service'], w);
    expect(reported.code, reported.output).toBe(0);
    const j = await job(t.jobId);
    expect([j.status, j.failed_step, j.reason]).toEqual(['failed', 'pull', 'reef-linux-pull.service failed; see journalctl -u reef-linux-pull.service']);
  });

  it('a layout larger than the disk is refused before any write', async () => {
    const before = diskFingerprint(disk.dev, DISK_SIZE);
    const w = work();
    const big = [{ mount: '/boot/efi', size: '512M', fstype: 'vfat' }, { mount: '/', size: '1G', fstype: 'ext4' }];
    const t = await jobWithTask(reef, 'TOOBIG', recipe('os/big:1', big), join(w, 'task'));
    const r = await runAgent(['--task', t.dir], w);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/the layout does not fit the disk: partition 2 \(root, 1G\)/);
    expect(r.output).not.toContain('+ sgdisk');
    expect(diskFingerprint(disk.dev, DISK_SIZE)).toBe(before);
    const j = await job(t.jobId);
    expect([j.status, j.failed_step]).toEqual(['failed', 'partition']);
    expect(j.reason).toContain('does not fit');
  });

  it('a tampered blob fails the pull with a digest error and nothing is extracted', async () => {
    const m = await reef.json('GET', '/v2/os/tampered/manifests/1', undefined, { accept: 'application/vnd.oci.image.manifest.v1+json' });
    const layer = m.body.layers[0].digest.split(':')[1];
    const file = join(reef.dataDir, 'registry', 'blobs', 'sha256', layer);
    expect(existsSync(file)).toBe(true);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from('TAMPERED'), 0, 8, 4 * 2 ** 20);
    closeSync(fd);
    const w = work();
    const t = await jobWithTask(reef, 'TAMPER', recipe('os/tampered:1'), join(w, 'task'));
    const r = await runAgent(['--task', t.dir], w);
    expect(r.code, r.output).toBe(1);
    const j = await job(t.jobId);
    expect([j.status, j.failed_step]).toEqual(['failed', 'pull']);
    expect(j.reason).toMatch(/^digest mismatch for blob sha256:[0-9a-f]{64}/);
    expect(await rootEntries()).toEqual(['lost+found']);
  });

  it('a tar member ../evil is refused and nothing lands inside or outside the root', async () => {
    const w = work();
    const t = await jobWithTask(reef, 'EVIL', recipe('os/evil:1'), join(w, 'task'));
    const r = await runAgent(['--task', t.dir], w);
    expect(r.code, r.output).toBe(1);
    const j = await job(t.jobId);
    expect([j.status, j.failed_step]).toEqual(['failed', 'pull']);
    expect(j.reason).toContain('refusing tar member "../evil": path with ..');
    expect(await rootEntries()).toEqual(['lost+found']);
    expect(existsSync(join(w, 'mnt', 'evil'))).toBe(false);
  });

  it('a symlink of the image (etc -> outside) is never written through: the fstab step refuses it', async () => {
    const w = work();
    const t = await jobWithTask(reef, 'LINKED', recipe('os/linked:1'), join(w, 'task'));
    const r = await runAgent(['--task', t.dir], w);
    expect(r.code, r.output).toBe(1);
    const j = await job(t.jobId);
    expect([j.status, j.failed_step]).toEqual(['failed', 'fstab']);
    expect(j.reason).toBe('refusing to go through /etc: it is a symlink in the installed image (it could lead outside the target)');
    expect(readdirSync(join(dir, 'outside'))).toEqual([]);
  });

  it('a connection cut mid-pull is resumed with Range and the install completes', async () => {
    const proxy = await startCuttingProxy(Number(new URL(reef.url).port), 5 * 2 ** 20);
    try {
      const w = work();
      const t = await jobWithTask(reef, 'RESUME', { ...recipe('os/big:1'), oci_url: `127.0.0.1:${proxy.port}/os/big:1` }, join(w, 'task'));
      const r = await runAgent(['--task', t.dir], w);
      expect(r.code, r.output).toBe(0);
      expect(proxy.seen.cuts).toBe(1);
      expect(proxy.seen.rangeRequests.length).toBeGreaterThanOrEqual(1);
      expect(Number(/bytes=(\d+)-/.exec(proxy.seen.rangeRequests[0]!)![1])).toBeGreaterThan(0);
      expect((await job(t.jobId)).status).toBe('succeeded');
      expect(await rootEntries()).toEqual(expect.arrayContaining(['etc', 'usr', 'home', 'lost+found']));
    } finally {
      await proxy.close();
    }
  });
});
