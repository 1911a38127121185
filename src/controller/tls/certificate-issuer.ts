/**
 * Makes the site CA and the server certificates it signs, in-process: ECDSA P-256 keys from
 * Node's webcrypto, certificates built with @peculiar/x509. This is the one file that imports
 * @peculiar/x509 (which needs reflect-metadata evaluated first), so REEF_TLS=auto needs no
 * openssl binary on the box.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

x509.cryptoProvider.set(webcrypto);

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Ten years (with their leap days): the CA outlives every box it is installed on. */
export const CA_VALIDITY_MS = 3653 * DAY_MS;
/** The longest validity browsers accept for a server certificate. */
export const SERVER_VALIDITY_MS = 397 * DAY_MS;
/** notBefore is set this far back: factory machines' clocks are often a little behind. */
export const CLOCK_SKEW_MS = HOUR_MS;

/** A certificate and its private key, both PEM (the key PKCS#8). */
export interface PemPair {
  cert: string;
  key: string;
}

/** 16 random bytes, top bit clear (a positive INTEGER) and first byte non-zero (minimal DER). */
const randomSerial = (): string => {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes.toString('hex');
};

const newKeyPair = () => webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);

const keyPem = (key: webcrypto.CryptoKey): string =>
  KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;

/** A host as it goes in subjectAltName: an IP address (canonical text) or a DNS name. */
const generalName = (host: string): x509.JsonGeneralName =>
  isIP(host) ? { type: 'ip', value: host } : { type: 'dns', value: host };

/** Makes a new self-signed CA named `commonName`, valid from `now` (minus the skew) for 10 years. */
export const createSiteCa = async (commonName: string, now: Date): Promise<PemPair> => {
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [commonName] }],
    keys,
    serialNumber: randomSerial(),
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_MS),
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      // pathLen 0: this CA signs server certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: `${cert.toString('pem')}\n`, key: keyPem(keys.privateKey) };
};

/**
 * Makes a server certificate for `hosts` (already normalised: DNS names lower case, IP
 * addresses bare) signed by the CA `ca`. Subject CN is the first host, subjectAltName holds them
 * all; valid from `now` minus the skew for 397 days, but never past the CA's own notAfter.
 */
export const createServerCertificate = async (ca: PemPair, hosts: string[], now: Date): Promise<PemPair> => {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKeyDer = createPrivateKey(ca.key).export({ type: 'pkcs8', format: 'der' });
  const caKey = await webcrypto.subtle.importKey('pkcs8', caKeyDer, EC_P256, false, ['sign']);
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const keys = await newKeyPair();
  const notAfter = Math.min(now.getTime() + SERVER_VALIDITY_MS, caCert.notAfter.getTime());
  const first = hosts[0]!;
  const cert = await x509.X509CertificateGenerator.create({
    // X.520 caps a CN at 64 characters; clients match on subjectAltName anyway.
    subject: [{ CN: [first.length <= 64 ? first : 'reef server'] }],
    issuer: caCert.subjectName,
    publicKey: keys.publicKey,
    signingKey: caKey,
    serialNumber: randomSerial(),
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(notAfter),
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      ...(caKeyId
        ? [new x509.AuthorityKeyIdentifierExtension(caKeyId)]
        : [await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey)]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.SubjectAlternativeNameExtension(hosts.map(generalName)),
    ],
  });
  return { cert: `${cert.toString('pem')}\n`, key: keyPem(keys.privateKey) };
};

/** The DNS names and IP addresses in a certificate's subjectAltName, as `normaliseHost` writes them. */
export const subjectAltNames = (certPem: string): string[] => {
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  if (!san) return [];
  return san.names.items
    .filter((name) => name.type === 'dns' || name.type === 'ip')
    .map((name) => normaliseHost(name.value));
};

/**
 * One spelling per host, so that a configured host and a name read back from a certificate
 * compare equal: IPv6 without brackets and in canonical form, DNS names lower case without a
 * trailing dot. Throws on anything that is neither.
 */
export const normaliseHost = (raw: string): string => {
  const host = raw.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) === 4) return new URL(`http://${host}/`).hostname;
  if (isIP(host) === 6) return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  const dns = host.toLowerCase().replace(/\.$/, '');
  const label = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
  if (dns.length > 253 || !new RegExp(`^(?:\\*\\.)?${label}(?:\\.${label})*$`).test(dns)) {
    throw new Error(`TLS host ${JSON.stringify(raw)} is neither a DNS name nor an IP address`);
  }
  return dns;
};
