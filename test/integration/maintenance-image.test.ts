import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const recipe = { task_target: 'install-linux.target', target_disk: '/dev/vda', oci_url: 'reef.example:8080/os/debian:12', partitions: [{ mount: '/', size: '0', fstype: 'ext4' }] };

describe('REEF_BOOT_DIR: reef serves its maintenance OS and boots machines into it', () => {
  let reef: TestReef;
  const files = { vmlinuz: randomBytes(300_000), 'initrd.img': randomBytes(500_000), 'filesystem.squashfs': randomBytes(3 * 1024 * 1024 + 5) };
  let jobId: string;
  beforeAll(async () => {
    reef = await startTestReef();
    await reef.json('POST', '/api/v1/machines', { serial: 'MAINT-1', macs: ['52:54:00:00:aa:01'] });
    jobId = (await reef.json('POST', '/api/v1/jobs', { server_serial: 'MAINT-1', recipe })).body.job_id;
  });
  afterAll(async () => reef?.stop());

  it('with nothing in <data>/boot, the script says there is no maintenance OS', async () => {
    const script = await (await reef.req('/boot.ipxe?mac=52:54:00:00:aa:01')).text();
    expect(script).toContain('reef has no maintenance OS (REEF_BOOT_DIR');
    expect((await reef.req('/media/maintenance/vmlinuz')).status).toBe(404);
  });

  it('an image written into <data>/boot (as build-maintenance-image.sh data/boot does) is served and chained, no restart', async () => {
    const dir = join(reef.dataDir, 'boot');
    mkdirSync(dir, { recursive: true });
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    const script = await (await reef.req('/boot.ipxe?mac=52:54:00:00:aa:01')).text();
    const kernel = /^kernel (\S+) initrd=initrd (.+)$/m.exec(script);
    expect(kernel?.[1]).toBe(`${reef.url}/media/maintenance/vmlinuz`);
    expect(kernel?.[2]).toMatch(
      new RegExp(`^boot=live fetch=${reef.url.replace(/[.:/]/g, '\\$&')}/media/maintenance/filesystem\\.squashfs ip=dhcp console=tty0 console=ttyS0,115200 reef\\.controller=\\S+ reef\\.job=${jobId} reef\\.token=\\S+$`),
    );
    expect(script).toContain(`initrd --name initrd ${reef.url}/media/maintenance/initrd.img`);
    for (const [name, data] of Object.entries(files)) {
      const res = await reef.req(`/media/maintenance/${name}`);
      expect(res.status).toBe(200);
      expect(sha(new Uint8Array(await res.arrayBuffer()))).toBe(sha(data));
    }
  });

  it('serves the squashfs by Range (live-boot and resumable fetches), and nothing but the three names', async () => {
    const res = await reef.req('/media/maintenance/filesystem.squashfs', { headers: { range: 'bytes=3145728-' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 3145728-${files['filesystem.squashfs'].length - 1}/${files['filesystem.squashfs'].length}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(files['filesystem.squashfs'].subarray(3145728))).toBe(true);
    for (const bad of ['secret.key', '..%2freef.db', 'vmlinuz.bak']) expect((await reef.req(`/media/maintenance/${bad}`)).status, bad).toBe(404);
  });

  it('REEF_BOOT_KERNEL and REEF_BOOT_INITRD still win over the directory', async () => {
    const other = await startTestReef({ REEF_BOOT_KERNEL: 'http://pxe.example/k', REEF_BOOT_INITRD: 'http://pxe.example/i', REEF_BOOT_CMDLINE: 'quiet' });
    try {
      mkdirSync(join(other.dataDir, 'boot'));
      for (const [name, data] of Object.entries(files)) writeFileSync(join(other.dataDir, 'boot', name), data);
      await other.json('POST', '/api/v1/jobs', { mac: undefined, server_serial: 'MAINT-2', recipe });
      const script = await (await other.req('/boot.ipxe?serial=MAINT-2')).text();
      expect(script).toMatch(/^kernel http:\/\/pxe\.example\/k initrd=initrd reef\.controller=\S+ reef\.job=\S+ reef\.token=\S+ quiet$/m);
    } finally {
      await other.stop();
    }
  });
});
