/**
 * Certificates for TLS tests, made with the openssl CLI (the tool, not reef's own code, so the
 * tests check reef against what a real CA produces): a CA and a server certificate for
 * 127.0.0.1 signed by it. Callers check the tool with requireTool('openssl') first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  /** PEM of the CA certificate. */
  caPem: string;
  /** The CA's SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it: upper-case hex bytes joined by colons. */
  opensslFingerprint: string;
  /** The same in reef's form: `sha256:<lowercase hex>`. */
  fingerprint: string;
  /** The server certificate (subjectAltName IP:127.0.0.1) and its key, PEM. */
  cert: string;
  key: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' }).toString('utf8');

/** A fresh CA named `name` and a server certificate for 127.0.0.1 signed by it (P-256 keys, valid for two days). */
export const makeTestPki = (name: string): TestPki => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-pki-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${Date.now().toString(16)}`,
      '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt'], dir);
    const printed = openssl(['x509', '-in', 'ca.crt', '-noout', '-fingerprint', '-sha256'], dir).trim();
    const opensslFingerprint = printed.slice(printed.indexOf('=') + 1);
    return {
      caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      opensslFingerprint,
      fingerprint: `sha256:${opensslFingerprint.replace(/:/g, '').toLowerCase()}`,
      cert: readFileSync(join(dir, 'server.crt'), 'utf8'),
      key: readFileSync(join(dir, 'server.key'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
