/**
 * PEM certificate and key files as an operator hands them over (REEF_TLS_CERT / REEF_TLS_KEY),
 * checked the way a TLS client would check them, with errors that name the file at fault.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** What the HTTPS server needs, and what clients need to trust it. */
export interface TlsMaterial {
  /** PEM: the server certificate, then any intermediates. */
  cert: string;
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM of the CA that signed `cert`, when reef made it (REEF_TLS=auto). */
  ca?: string;
  /** `sha256:<lowercase hex>` of the CA certificate's DER (what reef.ca= and task.json carry). */
  caFingerprint?: string;
  /** When the server certificate expires. */
  notAfter: Date;
}

/** A TLS file that is missing, unreadable or not what it should be; `file` is its path. */
export class TlsFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'TlsFileError';
  }
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The PEM certificate blocks in `text`, in order. */
export const certificateBlocks = (text: string): string[] => text.match(CERT_BLOCK) ?? [];

/** Why reading `file` failed, in words an operator can act on. */
const readProblem = (err: unknown): string => {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'not readable (permission denied)';
    case 'EISDIR':
      return 'is a directory, not a file';
    default:
      return `cannot be read (${(err as Error).message})`;
  }
};

/** Reads `file` as text, or throws a TlsFileError that says why not. */
export const readTlsFile = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TlsFileError(file, readProblem(err));
  }
};

/** Parses every PEM certificate in `text` (read from `file`), in order; at least one. */
export const parseCertificates = (file: string, text: string): X509Certificate[] => {
  const blocks = certificateBlocks(text);
  if (blocks.length === 0) {
    throw new TlsFileError(file, 'no PEM certificate in it (expected "-----BEGIN CERTIFICATE-----")');
  }
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new TlsFileError(file, `certificate ${i + 1} of ${blocks.length} does not parse (truncated or damaged?)`);
    }
  });
};

/** Parses the PEM private key in `text` (read from `file`). */
export const parsePrivateKey = (file: string, text: string): KeyObject => {
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new TlsFileError(file, 'the private key is encrypted; reef needs it without a passphrase');
  }
  if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(text)) {
    throw new TlsFileError(file, 'no PEM private key in it (expected "-----BEGIN PRIVATE KEY-----")');
  }
  try {
    return createPrivateKey(text);
  } catch {
    throw new TlsFileError(file, 'the private key does not parse (truncated or damaged?)');
  }
};

/** True when `key` is the private half of `cert`'s public key. */
export const keyMatches = (cert: X509Certificate, key: KeyObject): boolean => {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
};

/** True when `issuer` signed `cert`. */
export const issuedBy = (cert: X509Certificate, issuer: X509Certificate): boolean => {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
};

export const notBeforeOf = (cert: X509Certificate): Date => new Date(cert.validFrom);
export const notAfterOf = (cert: X509Certificate): Date => new Date(cert.validTo);

/**
 * Reads an operator's certificate file (the server certificate, then any intermediates in
 * order) and its key file; checks that they parse, that the key is the certificate's, that each
 * intermediate signed the one before it and that none has expired. Throws a TlsFileError naming
 * the file otherwise.
 */
export const loadTlsFiles = (certFile: string, keyFile: string, now: () => Date = () => new Date()): TlsMaterial => {
  const certText = readTlsFile(certFile);
  const keyText = readTlsFile(keyFile);
  const certs = parseCertificates(certFile, certText);
  const key = parsePrivateKey(keyFile, keyText);
  const leaf = certs[0]!;
  if (!keyMatches(leaf, key)) {
    throw new TlsFileError(keyFile, `the private key does not belong to the certificate in ${certFile}`);
  }
  certs.slice(1).forEach((issuer, i) => {
    if (!issuedBy(certs[i]!, issuer)) {
      throw new TlsFileError(
        certFile,
        `certificate ${i + 2} did not sign certificate ${i + 1}: the file must hold the server certificate first, then its intermediates in order`,
      );
    }
  });
  const at = now();
  certs.forEach((cert, i) => {
    const notAfter = notAfterOf(cert);
    if (notAfter.getTime() <= at.getTime()) {
      const which = i === 0 ? 'the certificate' : `intermediate certificate ${i + 1}`;
      throw new TlsFileError(certFile, `${which} (${cert.subject.replace(/\n/g, ', ')}) expired on ${notAfter.toISOString()}`);
    }
  });
  return { cert: `${certificateBlocks(certText).join('\n')}\n`, key: keyText, notAfter: notAfterOf(leaf) };
};
