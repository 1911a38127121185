import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certFingerprint } from '../../src/lib/cert-fingerprint.js';
import { type ContainerEnv, makeContainerEnv, ok } from '../helpers/containers.js';
import { reefResult, spawnReef } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { makeTestPki } from '../helpers/test-pki.js';
import { requireTool } from '../helpers/tools.js';
import { buildOciLayout, type FixtureImage } from '../registry/fixtures/oci-image.js';

const exec = promisify(execFile);
const curl = async (args: string[]) => {
  try {
    const { stdout } = await exec('curl', ['-sS', '-w', '\n%{http_code}', ...args], { encoding: 'utf8' });
    const i = stdout.lastIndexOf('\n');
    return { code: 0, status: Number(stdout.slice(i + 1)), body: stdout.slice(0, i), stderr: '' };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, status: 0, body: '', stderr: e.stderr };
  }
};

/** The SHA-256 of the certificate a TLS server presents (not verified: this is what we check). */
const servedFingerprint = (port: number) =>
  new Promise<string>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });

const tools = requireTool('curl') && requireTool('openssl') && requireTool('skopeo') && requireTool('podman');

describe.skipIf(!tools)('REEF_TLS=auto: a site CA, HTTPS everywhere but the boot listener', () => {
  const root = join(tmpdir(), `reef-tls-${randomBytes(6).toString('hex')}`);
  let reef: TestReef;
  let ca: string;
  let host: string;
  let ce: ContainerEnv;
  let fx: FixtureImage;
  let certs: string;

  beforeAll(async () => {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    reef = await startTestReef({ REEF_TLS: 'auto', REEF_BOOT_LISTEN: '127.0.0.1:0', REEF_BOOT_KERNEL: '/media/maintenance/vmlinuz', REEF_BOOT_INITRD: '/media/maintenance/initrd.img' });
    ca = join(reef.dataDir, 'tls', 'ca.crt');
    host = new URL(reef.url).host;
    ce = makeContainerEnv(join(root, 'containers'));
    fx = await buildOciLayout(join(root, 'fixture'), 'v1');
    // containers/image's certs directory: <dir>/ca.crt is trusted for the registry.
    certs = join(root, 'certs');
    mkdirSync(certs);
    copyFileSync(ca, join(certs, 'ca.crt'));
  }, 120_000);
  afterAll(async () => {
    await reef?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves HTTPS that curl verifies with <data>/tls/ca.crt, and not without it; the CA is at /ca.crt and /admin/certs/ca', async () => {
    expect(reef.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await curl(['--cacert', ca, `${reef.url}/healthz`])).status).toBe(200);
    const untrusted = await curl([`${reef.url}/healthz`]);
    expect(untrusted.code).toBe(60);
    const served = await curl(['--cacert', ca, `${reef.url}/ca.crt`]);
    expect(served.body).toBe(readFileSync(ca, 'utf8'));
    expect((await curl(['--cacert', ca, `${reef.url}/admin/certs/ca`])).body).toBe(readFileSync(ca, 'utf8'));
    // localhost is in the certificate too.
    expect((await curl(['--cacert', ca, `https://localhost:${new URL(reef.url).port}/healthz`])).status).toBe(200);
  });

  it('skopeo and podman push and pull with the CA in a certs directory, no --tls-verify=false; without it they refuse', async () => {
    ok('skopeo copy → reef (TLS)', await ce.skopeo(['copy', '--preserve-digests', '--dest-cert-dir', certs, `oci:${fx.dir}:${fx.tag}`, `docker://${host}/tls/base:v1`]));
    const inspected = JSON.parse(ok('skopeo inspect', await ce.skopeo(['inspect', '--cert-dir', certs, `docker://${host}/tls/base:v1`])));
    expect(inspected.Digest).toBe(fx.manifestDigest);
    const refused = await ce.skopeo(['inspect', `docker://${host}/tls/base:v1`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr + refused.stdout).toMatch(/certificate signed by unknown authority/);

    ok('podman pull (TLS)', await ce.podman(['pull', '--cert-dir', certs, `${host}/tls/base:v1`]));
    ok('podman tag', await ce.podman(['tag', `${host}/tls/base:v1`, `${host}/tls/copy:v2`]));
    ok('podman push (TLS)', await ce.podman(['push', '--cert-dir', certs, `${host}/tls/copy:v2`]));
    const copied = JSON.parse(ok('skopeo inspect copy', await ce.skopeo(['inspect', '--cert-dir', certs, `docker://${host}/tls/copy:v2`])));
    expect(copied.Layers).toEqual(inspected.Layers);
  }, 240_000);

  it('reef push and reef pull verify the site CA with --ca', async () => {
    const file = join(root, 'payload.bin');
    writeFileSync(file, randomBytes(3 * 1024 * 1024 + 17));
    const pushed = await reefResult(['push', `${host}/tls/payload:1`, file, '--ca', ca]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const out = join(root, 'payload.out');
    const pulled = await reefResult(['pull', `${host}/tls/payload:1`, '-o', out, '--ca', ca]);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(readFileSync(out).equals(readFileSync(file))).toBe(true);
    const other = join(root, 'other-ca.crt');
    writeFileSync(other, makeTestPki('another CA').caPem);
    const refused = await reefResult(['pull', `${host}/tls/payload:1`, '-o', out, '--ca', other]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot trust the registry at https:\/\/127\.0\.0\.1:\d+: its certificate is not signed by the pinned CA sha256:/);
  }, 60_000);

  it('the plain boot listener answers iPXE paths only; its scripts fetch over it and pin the CA for the maintenance OS', async () => {
    const boot = reef.bootUrl!;
    expect(boot).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await curl(['--cacert', ca, '-X', 'POST', '-H', 'content-type: application/json', '-d', '{"serial":"TLS-1","macs":["52:54:00:00:00:71"]}', `${reef.url}/api/v1/machines`]);
    const recipe = readFileSync('recipes/ubuntu-rootfs.json', 'utf8');
    const job = await curl(['--cacert', ca, '-X', 'POST', '-H', 'content-type: application/json', '-d', `{"server_serial":"TLS-1","recipe":${recipe}}`, `${reef.url}/api/v1/jobs`]);
    expect(job.status, job.body).toBe(202);
    const jobId = JSON.parse(job.body).job_id as string;

    const script = await curl([`${boot}/boot.ipxe?mac=52:54:00:00:00:71`]);
    expect(script.status).toBe(200);
    expect(script.body).toContain(`kernel ${boot}/media/maintenance/vmlinuz`);
    expect(script.body).toContain(`reef.controller=${reef.url}`);
    expect(script.body).toContain(`reef.ca=${certFingerprint(readFileSync(ca, 'utf8'))}`);
    const iso = await curl(['-o', '/dev/null', `${boot}/media/tasks/${jobId}/task.iso`]);
    expect(iso.status).toBe(200);

    for (const path of ['/api/v1/jobs', '/v2/', '/ca.crt', '/healthz', '/api/v1/tokens', '/metrics', '/ui', '/ui/login', '/ui/assets/ui.css']) {
      const r = await curl([`${boot}${path}`]);
      expect(r.status, path).toBe(404);
      expect(r.body, path).toContain('serves only boot scripts and media');
    }
  });
});

describe.skipIf(!requireTool('openssl') || !requireTool('curl'))('REEF_TLS_CERT + REEF_TLS_KEY: an operator\'s certificate, reloaded on SIGHUP', () => {
  it('serves the given certificate, and the new one after the files change and SIGHUP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-tls-files-'));
    const first = makeTestPki('first CA');
    const second = makeTestPki('second CA');
    const cert = join(dir, 'server.crt');
    const key = join(dir, 'server.key');
    writeFileSync(cert, first.cert);
    writeFileSync(key, first.key, { mode: 0o600 });
    const child = await spawnReef({ REEF_DATA_DIR: join(dir, 'data'), REEF_TLS_CERT: cert, REEF_TLS_KEY: key, LOG_LEVEL: 'info' });
    try {
      const port = Number(new URL(child.url).port);
      const fp = (pem: string) => certFingerprint(pem).slice('sha256:'.length);
      const colon = (hex: string) => hex.toUpperCase().match(/../g)!.join(':');
      expect(await servedFingerprint(port)).toBe(colon(fp(first.cert)));
      writeFileSync(join(dir, 'ca1.crt'), first.caPem);
      expect((await curl(['--cacert', join(dir, 'ca1.crt'), `${child.url}/healthz`])).status).toBe(200);

      // A half-written pair (new cert, old key) is refused and the old one kept.
      writeFileSync(cert, second.cert);
      child.child.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
      expect(await servedFingerprint(port)).toBe(colon(fp(first.cert)));
      expect(child.output()).toMatch(/certificate not reloaded/);

      writeFileSync(key, second.key);
      child.child.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
      expect(await servedFingerprint(port)).toBe(colon(fp(second.cert)));
      expect(child.output()).toMatch(/certificate reloaded \(SIGHUP\)/);
    } finally {
      child.child.kill('SIGTERM');
      await child.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
