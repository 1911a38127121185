import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:https';
import { type AddressInfo, isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { certFingerprint, ensureSiteTls, loadTlsFiles, type TlsMaterial } from '../../src/controller/tls/site-ca.js';
import { requireTool } from '../helpers/tools.js';

const run = promisify(execFile);
const DAY = 24 * 3_600_000;
const HOSTS = ['localhost', '127.0.0.1', '::1', 'reef.example'];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reef-tls-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tlsDir = () => join(dir, 'tls');
const file = (name: string) => join(tlsDir(), name);
const mode = (path: string) => statSync(path).mode & 0o777;
const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;

/** Serves "hello" (and a registry's /v2/ answer, for skopeo) over HTTPS on 127.0.0.1:0. */
const serve = async (material: TlsMaterial): Promise<{ server: Server; port: number }> => {
  const server = createServer({ cert: material.cert, key: material.key }, (req, res) => {
    if (req.url === '/v2/') {
      res.writeHead(200, { 'Docker-Distribution-API-Version': 'registry/2.0', 'Content-Type': 'application/json' });
      res.end('{}');
    } else if (req.url?.startsWith('/v2/')) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
    } else {
      res.end('hello');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
};

/** GET https://127.0.0.1:port/, checking the certificate against `name` (SNI too when a DNS name). */
const httpsGet = (port: number, ca: string | undefined, name: string) =>
  new Promise<string>((resolve, reject) => {
    const servername = isIP(name) ? {} : { servername: name };
    get({ host: '127.0.0.1', port, path: '/', ...servername, ...(ca ? { ca } : {}) }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });

describe('ensureSiteTls: the site CA and server certificate of REEF_TLS=auto', () => {
  it('makes the CA and server files with 0600 keys, 0644 certs, a 0700 dir; the next call loads them', async () => {
    const first = await ensureSiteTls({ dir: tlsDir(), hosts: HOSTS });
    expect(first.renewed).toBe(true);
    expect(mode(tlsDir())).toBe(0o700);
    expect([mode(file('ca.key')), mode(file('server.key'))]).toEqual([0o600, 0o600]);
    expect([mode(file('ca.crt')), mode(file('server.crt'))]).toEqual([0o644, 0o644]);
    const m = first.material;
    expect(m.cert).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(m.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(m.ca).toBe(readFileSync(file('ca.crt'), 'utf8'));
    expect(m.caFingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    // 397 days from now, less the hour of clock skew allowance on notBefore only.
    expect(Math.abs(m.notAfter.getTime() - (Date.now() + 397 * DAY))).toBeLessThan(60_000);

    const second = await ensureSiteTls({ dir: tlsDir(), hosts: HOSTS });
    expect(second.renewed).toBe(false);
    expect(second.material.caFingerprint).toBe(m.caFingerprint);
    expect(second.material.cert).toBe(m.cert);
    expect(second.material.key).toBe(m.key);
  });

  it('renews 10 days before notAfter: new serial, same CA', async () => {
    const { material } = await ensureSiteTls({ dir: tlsDir(), hosts: HOSTS });
    const later = new Date(material.notAfter.getTime() - 10 * DAY);
    const renewed = await ensureSiteTls({ dir: tlsDir(), hosts: HOSTS, now: () => later });
    expect(renewed).toMatchObject({ renewed: true, reason: 'expires soon' });
    expect(serialOf(renewed.material.cert)).not.toBe(serialOf(material.cert));
    expect(renewed.material.caFingerprint).toBe(material.caFingerprint);
    expect(renewed.material.notAfter.getTime()).toBeGreaterThan(later.getTime() + 390 * DAY);
    expect(readFileSync(file('server.crt'), 'utf8')).toBe(renewed.material.cert);
  });

  it('renews when the hosts are no longer covered, not when they are a subset', async () => {
    const { material } = await ensureSiteTls({ dir: tlsDir(), hosts: HOSTS });
    const subset = await ensureSiteTls({ dir: tlsDir(), hosts: ['[::1]', 'LOCALHOST'] });
    expect(subset.renewed).toBe(false);
    const moved = await ensureSiteTls({ dir: tlsDir(), hosts: ['reef.site-7.example', '10.0.0.7'] });
    expect(moved).toMatchObject({ renewed: true, reason: 'hosts changed' });
    expect(moved.material.caFingerprint).toBe(material.caFingerprint);
    const cert = new X509Certificate(moved.material.cert);
    expect(cert.subjectAltName).toBe('DNS:reef.site-7.example, IP Address:10.0.0.7');
    expect(cert.subject).toBe('CN=reef.site-7.example');
  });

  it('refuses a damaged or half-missing CA, naming the file, and leaves it in place', async () => {
    await ensureSiteTls({ dir: tlsDir(), hosts: HOSTS });
    const caCert = readFileSync(file('ca.crt'), 'utf8');
    truncateSync(file('ca.key'), 100);
    await expect(ensureSiteTls({ dir: tlsDir(), hosts: HOSTS })).rejects.toThrow(`${file('ca.key')}: the private key does not parse`);
    expect(readFileSync(file('ca.crt'), 'utf8')).toBe(caCert);
    expect(statSync(file('ca.key')).size).toBe(100);

    unlinkSync(file('ca.key'));
    await expect(ensureSiteTls({ dir: tlsDir(), hosts: HOSTS })).rejects.toThrow(`${file('ca.key')}: missing while ${file('ca.crt')} exists`);
  });

  it('makes a new server certificate when server.key is damaged, keeping the CA', async () => {
    const { material } = await ensureSiteTls({ dir: tlsDir(), hosts: HOSTS });
    writeFileSync(file('server.key'), 'garbage');
    const again = await ensureSiteTls({ dir: tlsDir(), hosts: HOSTS });
    expect(again).toMatchObject({ renewed: true, reason: 'unreadable' });
    expect(again.material.caFingerprint).toBe(material.caFingerprint);
  });

  it('uses caName for a new CA', async () => {
    const { material } = await ensureSiteTls({ dir: tlsDir(), hosts: ['localhost'], caName: 'Plant 7, line 2 CA' });
    expect(new X509Certificate(material.ca!).subject).toBe('CN=Plant 7\\, line 2 CA');
  });

  it('a Node https client trusts the server with material.ca, and only with it', async () => {
    const { material } = await ensureSiteTls({ dir: tlsDir(), hosts: HOSTS });
    const { server, port } = await serve(material);
    try {
      expect(await httpsGet(port, material.ca, '127.0.0.1')).toBe('hello');
      expect(await httpsGet(port, material.ca, 'localhost')).toBe('hello');
      await expect(httpsGet(port, undefined, 'localhost')).rejects.toThrow(/certificate/);
    } finally {
      server.close();
    }
  });
});

describe.runIf(requireTool('openssl') && requireTool('sha256sum'))('the files as openssl sees them', () => {
  it('openssl verifies server.crt against ca.crt; the extensions are those Go clients require', async () => {
    await ensureSiteTls({ dir: tlsDir(), hosts: HOSTS });
    const verify = await run('openssl', ['verify', '-CAfile', file('ca.crt'), file('server.crt')]);
    expect(verify.stdout.trim()).toBe(`${file('server.crt')}: OK`);

    const ca = (await run('openssl', ['x509', '-in', file('ca.crt'), '-noout', '-text'])).stdout;
    expect(ca).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(ca).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(ca).toContain('Subject Key Identifier');
    expect(ca).toMatch(/Subject: CN = reef site CA [0-9a-f]{8}/);

    const leaf = (await run('openssl', ['x509', '-in', file('server.crt'), '-noout', '-text'])).stdout;
    expect(leaf).toContain('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:reef.example');
    expect(leaf).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(leaf).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(leaf).toMatch(/Extended Key Usage: \s*\n\s+TLS Web Server Authentication\n/);
    expect(leaf).toContain('Authority Key Identifier');
    expect(leaf).toContain('ASN1 OID: prime256v1');
    expect(leaf).toContain('Subject: CN = localhost');
    const serial = /Serial Number:\s+((?:[0-9a-f]{2}:){15}[0-9a-f]{2})\n/.exec(leaf)?.[1];
    expect(parseInt(serial!.slice(0, 2), 16)).toBeLessThan(0x80);

    const key = (await run('openssl', ['pkey', '-in', file('server.key'), '-noout', '-text'])).stdout;
    expect(key).toContain('NIST CURVE: P-256');
  });

  it('certFingerprint is the sha256 of the DER that openssl writes', async () => {
    const { material } = await ensureSiteTls({ dir: tlsDir(), hosts: ['localhost'] });
    const { stdout } = await run('sh', ['-c', `openssl x509 -in '${file('ca.crt')}' -outform DER | sha256sum`]);
    expect(certFingerprint(material.ca!)).toBe(`sha256:${stdout.split(' ')[0]}`);
    expect(material.caFingerprint).toBe(`sha256:${stdout.split(' ')[0]}`);
  });
});

describe.runIf(requireTool('curl'))('curl against a server with the material', () => {
  it('curl --cacert ca.crt reaches https://127.0.0.1 and https://localhost; curl without it does not', async () => {
    const { material } = await ensureSiteTls({ dir: tlsDir(), hosts: HOSTS });
    const { server, port } = await serve(material);
    try {
      const curl = (...args: string[]) => run('curl', ['-sS', '--max-time', '10', ...args]);
      expect((await curl('--cacert', file('ca.crt'), `https://127.0.0.1:${port}/`)).stdout).toBe('hello');
      const resolve = `localhost:${port}:127.0.0.1`;
      expect((await curl('--cacert', file('ca.crt'), '--resolve', resolve, `https://localhost:${port}/`)).stdout).toBe('hello');
      await expect(curl(`https://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: 60 });
      // A name the certificate does not hold fails even with the CA.
      const other = `reef.other:${port}:127.0.0.1`;
      await expect(curl('--cacert', file('ca.crt'), '--resolve', other, `https://reef.other:${port}/`)).rejects.toMatchObject({ code: 60 });
    } finally {
      server.close();
    }
  });
});

describe.runIf(requireTool('skopeo'))("skopeo (Go's crypto/x509) against a server with the material", () => {
  it('with ca.crt in --cert-dir it gets past TLS to the registry; without it, an x509 error', async () => {
    const { material } = await ensureSiteTls({ dir: tlsDir(), hosts: HOSTS });
    const certDir = join(dir, 'certs');
    mkdirSync(certDir);
    copyFileSync(file('ca.crt'), join(certDir, 'ca.crt'));
    const { server, port } = await serve(material);
    try {
      const inspect = (...args: string[]) =>
        run('skopeo', ['inspect', ...args], { timeout: 30_000 }).then(
          () => '',
          (err: { stderr: string }) => err.stderr,
        );
      for (const host of ['127.0.0.1', 'localhost']) {
        const trusted = await inspect('--cert-dir', certDir, `docker://${host}:${port}/site/app:1`);
        expect(trusted).toContain('manifest unknown');
        expect(trusted).not.toContain('x509');
      }
      expect(await inspect(`docker://127.0.0.1:${port}/site/app:1`)).toContain('x509: certificate signed by unknown authority');
    } finally {
      server.close();
    }
  });
});

describe('loadTlsFiles: REEF_TLS_CERT / REEF_TLS_KEY', () => {
  it('loads a certificate, or a chain (leaf then intermediates), with its key', async () => {
    const { material } = await ensureSiteTls({ dir: tlsDir(), hosts: ['localhost'] });
    const loaded = loadTlsFiles(file('server.crt'), file('server.key'));
    expect(loaded).toEqual({ cert: material.cert, key: material.key, notAfter: material.notAfter });
    const chain = join(dir, 'chain.pem');
    writeFileSync(chain, material.cert + material.ca);
    expect(loadTlsFiles(chain, file('server.key')).cert).toBe(material.cert + material.ca);
  });

  it('names the file that is missing, not PEM, out of order, or whose key does not match', async () => {
    const { material } = await ensureSiteTls({ dir: tlsDir(), hosts: ['localhost'] });
    const missing = join(dir, 'nope.crt');
    expect(() => loadTlsFiles(missing, file('server.key'))).toThrow(`${missing}: no such file`);
    const text = join(dir, 'text.crt');
    writeFileSync(text, 'not a certificate');
    expect(() => loadTlsFiles(text, file('server.key'))).toThrow(`${text}: no PEM certificate in it`);
    expect(() => loadTlsFiles(file('server.crt'), file('server.crt'))).toThrow(`${file('server.crt')}: no PEM private key in it`);
    expect(() => loadTlsFiles(file('server.crt'), file('ca.key'))).toThrow(
      `${file('ca.key')}: the private key does not belong to the certificate in ${file('server.crt')}`,
    );
    const reversed = join(dir, 'reversed.pem');
    writeFileSync(reversed, material.ca! + material.cert);
    expect(() => loadTlsFiles(reversed, file('ca.key'))).toThrow(`${reversed}: certificate 2 did not sign certificate 1`);
  });

  it('refuses an expired certificate', async () => {
    const { material } = await ensureSiteTls({ dir: tlsDir(), hosts: ['localhost'] });
    const after = new Date(material.notAfter.getTime() + DAY);
    expect(() => loadTlsFiles(file('server.crt'), file('server.key'), () => after)).toThrow(
      new RegExp(`^${file('server.crt')}: the certificate \\(CN=localhost\\) expired on `),
    );
  });
});
