import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { runReef } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';

let reef: TestReef;
let dir: string;
beforeAll(async () => {
  reef = await startTestReef({ REGISTRY_GC_GRACE_PERIOD: '0s' });
  dir = mkdtempSync(join(tmpdir(), 'reef-cli-'));
});
afterAll(async () => {
  await reef?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const host = () => new URL(reef.url).host;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const reefCli = async (args: string[]) => {
  const r = runReef(args, {});
  const code = await r.exited;
  return { code, out: r.output() };
};

/** A TCP proxy that cuts the first `cutAfter` response bytes' connection, then passes through. */
const cuttingProxy = async (target: string, cutAfter: number) => {
  const [h, p] = target.split(':');
  let cuts = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(p), h);
    let seen = 0;
    const cut = cuts === 0;
    client.pipe(upstream);
    upstream.on('data', (d: Buffer) => {
      seen += d.length;
      if (cut && seen > cutAfter) {
        cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    upstream.on('end', () => client.end());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  return { host: `127.0.0.1:${port}`, cuts: () => cuts, close: () => new Promise<void>((r) => server.close(() => r())) };
};

describe('reef push / pull', () => {
  it('pushes a file as an oras-shaped artifact and pulls it back byte for byte', async () => {
    const file = join(dir, 'ubuntu-22.04-rootfs.tar.gz');
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    bytes[0] = 0; // not gzip's magic by chance: these bytes are labelled plain tar
    writeFileSync(file, bytes);
    const push = await reefCli(['push', `${host()}/os-images/ubuntu-rootfs:22.04`, file, '--artifact-type', 'application/vnd.shoal.rootfs.tar.gz']);
    expect(push.code, push.out).toBe(0);
    const manifestDigest = /Digest: (sha256:[a-f0-9]{64})/.exec(push.out)![1];

    const res = await reef.req('/v2/os-images/ubuntu-rootfs/manifests/22.04', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const raw = Buffer.from(await res.arrayBuffer());
    expect(sha(raw)).toBe(manifestDigest);
    const m = JSON.parse(raw.toString());
    expect(m).toMatchObject({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.shoal.rootfs.tar.gz',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2 },
    });
    expect(m.layers).toEqual([
      { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(bytes), size: bytes.length, annotations: { 'org.opencontainers.image.title': 'ubuntu-22.04-rootfs.tar.gz' } },
    ]);

    const out = join(dir, 'pulled.tar.gz');
    const pull = await reefCli(['pull', `${host()}/os-images/ubuntu-rootfs:22.04`, '-o', out]);
    expect(pull.code, pull.out).toBe(0);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });

  it('labels a gzip or zstd file by its bytes (tar+gzip, tar+zstd), as the agent and other clients expect', async () => {
    const tarball = join(dir, 'tree.tar');
    writeFileSync(join(dir, 'hello.txt'), 'hello\n');
    execFileSync('tar', ['-cf', tarball, '-C', dir, 'hello.txt']);
    execFileSync('gzip', ['-kf', tarball]);
    execFileSync('zstd', ['-qf', tarball, '-o', `${tarball}.zst`]);
    for (const [file, type] of [[`${tarball}.gz`, 'application/vnd.oci.image.layer.v1.tar+gzip'], [`${tarball}.zst`, 'application/vnd.oci.image.layer.v1.tar+zstd'], [tarball, 'application/vnd.oci.image.layer.v1.tar']] as const) {
      const push = await reefCli(['push', `${host()}/os-images/typed:${type.split('+')[1] ?? 'plain'}`, file]);
      expect(push.code, push.out).toBe(0);
      const res = await reef.req(`/v2/os-images/typed/manifests/${type.split('+')[1] ?? 'plain'}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(((await res.json()) as { layers: { mediaType: string }[] }).layers[0]!.mediaType).toBe(type);
    }
  });

  it('says plainly that a registry answered in plain HTTP when HTTPS was expected (no OpenSSL jargon, no retries)', async () => {
    const client = createOciClient({ registry: host(), plainHttp: false });
    const t0 = Date.now();
    const err = await client.getManifest('os-images/typed', 'plain').catch((e: Error) => e);
    expect((err as Error).message).toBe(`the registry at ${host()} answered in plain HTTP, not HTTPS; if it serves plain HTTP, say so (reef push/pull --plain-http)`);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('pull resumes with a Range after the connection drops mid-blob', async () => {
    const file = join(dir, 'install.wim');
    const bytes = randomBytes(8 * 1024 * 1024);
    writeFileSync(file, bytes);
    expect((await reefCli(['push', `${host()}/os-images/windows-server:2022`, file])).code).toBe(0);
    const proxy = await cuttingProxy(host(), 2 * 1024 * 1024);
    try {
      const out = join(dir, 'install-pulled.wim');
      // The manifest GET goes through the first connection and is small; the blob GET is cut.
      const pull = await reefCli(['pull', `${proxy.host}/os-images/windows-server:2022`, '-o', out, '--plain-http']);
      expect(pull.code, pull.out).toBe(0);
      expect(proxy.cuts()).toBe(1);
      expect(readFileSync(out).equals(bytes)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('an unknown tag fails with the registry error and leaves no file; reef gc --dry-run reports', async () => {
    const pull = await reefCli(['pull', `${host()}/os-images/nothing:here`, '-o', join(dir, 'nothing')]);
    expect(pull.code).toBe(1);
    expect(pull.out).toMatch(/MANIFEST_UNKNOWN/);
    expect(() => readFileSync(join(dir, 'nothing'))).toThrow();
    const gc = await reefCli(['gc', '--dry-run', '--server', reef.url]);
    expect(gc.code, gc.out).toBe(0);
    expect(JSON.parse(gc.out)).toMatchObject({ dry_run: true, blobs_deleted: 0 });
  });
});
