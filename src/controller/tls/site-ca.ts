/**
 * The TLS material of REEF_TLS=auto: a site CA made once and kept (clients pin or install it),
 * and a server certificate it signs, renewed before it expires or when the host names change.
 */
import { randomBytes, type X509Certificate } from 'node:crypto';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncPath, writeFileAtomic } from '../../lib/atomic-file.js';
import { createServerCertificate, createSiteCa, normaliseHost, type PemPair, subjectAltNames } from './certificate-issuer.js';
import {
  issuedBy,
  keyMatches,
  notAfterOf,
  notBeforeOf,
  parseCertificates,
  parsePrivateKey,
  readTlsFile,
  type TlsMaterial,
  TlsFileError,
} from './tls-files.js';

export { loadTlsFiles, TlsFileError, type TlsMaterial } from './tls-files.js';
export { certFingerprint } from '../../lib/cert-fingerprint.js';
import { certFingerprint } from '../../lib/cert-fingerprint.js';

const DAY_MS = 24 * 3_600_000;
const KEY_MODE = 0o600;
const CERT_MODE = 0o644;

export interface SiteTlsOptions {
  /** Where ca.crt, ca.key, server.crt and server.key live (made 0700). */
  dir: string;
  /** DNS names and IP addresses the server is reached by; the first is the subject CN. */
  hosts: string[];
  now?: () => Date;
  /** Renew the server certificate when it expires within this long; 30 days by default. */
  renewBeforeMs?: number;
  /** The CA's common name when a new CA is made; "reef site CA <random>" by default. */
  caName?: string;
}

export interface SiteTls {
  material: TlsMaterial;
  /** True when the server certificate was made by this call. */
  renewed: boolean;
  /** Why it was made: absent, unreadable, key does not match, not signed by the site CA, not valid yet, expires soon, hosts changed. */
  reason?: string;
}

const exists = async (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? false : Promise.reject(new TlsFileError(file, err.message))),
  );

const writePair = async (pair: PemPair, certFile: string, keyFile: string): Promise<void> => {
  // Key first: a crash between the two leaves a certificate that does not match its key, which
  // the next start treats as "make a new one" for the server and as an error for the CA.
  await writeFileAtomic(keyFile, pair.key, { mode: KEY_MODE });
  await writeFileAtomic(certFile, pair.cert, { mode: CERT_MODE });
  await syncPath(dirname(certFile));
};

const KEEP_CA =
  'reef does not replace a site CA on its own, as every client that trusts it would stop trusting reef: ' +
  'restore the file, or remove both ca.crt and ca.key to make a new CA and hand its ca.crt to every client again';

/** Runs `read`, adding to any TlsFileError why reef does not simply make a new CA. */
const readCaPart = <T>(read: () => T): T => {
  try {
    return read();
  } catch (err) {
    throw err instanceof TlsFileError ? new TlsFileError(err.file, `${err.problem}; ${KEEP_CA}`) : err;
  }
};

/**
 * Loads the CA from `certFile`/`keyFile`, or makes it when both are absent. Anything else wrong
 * (one missing, damaged, mismatched, expired, not P-256) is an error naming the file: a new CA
 * would silently break every client that trusts the old one.
 */
const loadOrCreateCa = async (certFile: string, keyFile: string, now: Date, caName: string | undefined): Promise<PemPair> => {
  const [hasCert, hasKey] = await Promise.all([exists(certFile), exists(keyFile)]);
  if (!hasCert && !hasKey) {
    const pair = await createSiteCa(caName ?? `reef site CA ${randomBytes(4).toString('hex')}`, now);
    await writePair(pair, certFile, keyFile);
    return pair;
  }
  if (!hasCert) throw new TlsFileError(certFile, `missing while ${keyFile} exists; ${KEEP_CA}`);
  if (!hasKey) throw new TlsFileError(keyFile, `missing while ${certFile} exists; ${KEEP_CA}`);
  const pair = { cert: readTlsFile(certFile), key: readTlsFile(keyFile) };
  const cert = readCaPart(() => parseCertificates(certFile, pair.cert)[0]!);
  const key = readCaPart(() => parsePrivateKey(keyFile, pair.key));
  if (!keyMatches(cert, key)) throw new TlsFileError(keyFile, `does not belong to the CA certificate ${certFile}; ${KEEP_CA}`);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TlsFileError(keyFile, 'not an ECDSA P-256 key, the only kind reef signs with');
  }
  if (!cert.ca) throw new TlsFileError(certFile, 'not a CA certificate (basicConstraints cA is not true)');
  const notAfter = notAfterOf(cert);
  if (notAfter.getTime() <= now.getTime()) {
    throw new TlsFileError(
      certFile,
      `the site CA expired on ${notAfter.toISOString()}; remove ca.crt and ca.key to make a new one, and hand its ca.crt to every client`,
    );
  }
  return pair;
};

/** Why the server certificate must be (re)made, or undefined when it is good as it is. */
const renewalReason = (
  server: PemPair | undefined,
  ca: X509Certificate,
  hosts: string[],
  now: Date,
  renewBeforeMs: number,
): string | undefined => {
  if (!server) return 'absent';
  let cert: X509Certificate;
  try {
    [cert] = parseCertificates('server.crt', server.cert) as [X509Certificate];
    if (!keyMatches(cert, parsePrivateKey('server.key', server.key))) return 'key does not match';
  } catch {
    return 'unreadable';
  }
  if (!issuedBy(cert, ca)) return 'not signed by the site CA';
  if (notBeforeOf(cert).getTime() > now.getTime()) return 'not valid yet';
  if (notAfterOf(cert).getTime() - now.getTime() < renewBeforeMs) return 'expires soon';
  const names = new Set(subjectAltNames(server.cert));
  if (!hosts.every((host) => names.has(host))) return 'hosts changed';
  return undefined;
};

/**
 * Makes (first time) or loads the site CA under `dir` (ca.crt 0644, ca.key 0600) and a server
 * certificate (server.crt 0644, server.key 0600) for `hosts` (DNS names and IP addresses,
 * IPv4/IPv6; each in subjectAltName with its type: dNSName or iPAddress). Renews the server
 * certificate when it expires within `renewBeforeMs` (default 30 days), when its SANs do not
 * cover `hosts` any more (e.g. REEF_PUBLIC_URL changed), or when it is missing, damaged or not
 * the CA's. The CA is kept (10 years validity); the server certificate is valid 397 days (browser
 * limit). Writes are atomic (temp file in the same dir, fsync, rename, fsync of the dir; dir
 * 0700). Returns the material, whether it renewed and, if so, why (for the log).
 */
export const ensureSiteTls = async (opts: SiteTlsOptions): Promise<SiteTls> => {
  const now = (opts.now ?? (() => new Date()))();
  const hosts = [...new Set(opts.hosts.map(normaliseHost))];
  if (hosts.length === 0) throw new Error('ensureSiteTls: at least one host name or IP address is needed');
  const renewBeforeMs = opts.renewBeforeMs ?? 30 * DAY_MS;
  const file = (name: string) => join(opts.dir, name);

  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  await chmod(opts.dir, 0o700);
  const ca = await loadOrCreateCa(file('ca.crt'), file('ca.key'), now, opts.caName);
  const caCert = parseCertificates(file('ca.crt'), ca.cert)[0]!;

  const [hasCert, hasKey] = await Promise.all([exists(file('server.crt')), exists(file('server.key'))]);
  const current = hasCert && hasKey ? { cert: readTlsFile(file('server.crt')), key: readTlsFile(file('server.key')) } : undefined;
  const reason = renewalReason(current, caCert, hosts, now, renewBeforeMs);
  let server = current;
  if (reason || !server) {
    server = await createServerCertificate(ca, hosts, now);
    await writePair(server, file('server.crt'), file('server.key'));
  }

  const leaf = parseCertificates(file('server.crt'), server.cert)[0]!;
  return {
    material: { cert: server.cert, key: server.key, ca: ca.cert, caFingerprint: certFingerprint(ca.cert, `${file('ca.crt')} (the site CA)`), notAfter: notAfterOf(leaf) },
    renewed: reason !== undefined,
    ...(reason ? { reason } : {}),
  };
};
