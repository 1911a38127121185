import { createHash, X509Certificate } from 'node:crypto';

const PEM_CERT = /-----BEGIN CERTIFICATE-----/g;

/**
 * The one certificate of a PEM text, parsed. A PEM holding several is refused: a trust anchor
 * checked by the fingerprint of its first certificate must not bring others along.
 */
export const singleCertificate = (pem: string, what: string): X509Certificate => {
  const count = pem.match(PEM_CERT)?.length ?? 0;
  if (count !== 1) throw new Error(`${what} holds ${count} PEM certificates; expected exactly one`);
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new Error(`${what} is not a valid PEM certificate: ${(err as Error).message}`, { cause: err });
  }
};

/** `sha256:<lowercase hex>` over the certificate's DER: the form reef writes (task.json, reef.ca=). */
export const certFingerprint = (pem: string, what = 'the certificate'): string =>
  `sha256:${createHash('sha256').update(singleCertificate(pem, what).raw).digest('hex')}`;

/**
 * A SHA-256 fingerprint as people write it — `sha256:<hex>`, upper or lower case, with or
 * without colons between the bytes, or the bare hex — in reef's form `sha256:<lowercase hex>`;
 * null when it is not one.
 */
export const parseFingerprint = (text: string): string | null => {
  const hex = text
    .trim()
    .replace(/^sha256[:=]/i, '')
    .replace(/:/g, '')
    .toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? `sha256:${hex}` : null;
};
