import { createHash, X509Certificate } from 'node:crypto';

/** Every PEM block, whatever its label: Node's `ca` option also loads TRUSTED CERTIFICATE and X509 CERTIFICATE blocks. */
const PEM_BLOCK = /-----BEGIN ([^-\r\n]*)-----/g;

/**
 * The one certificate of a PEM text, parsed. A text holding any other PEM block, of any label, is
 * refused: a trust anchor checked by the fingerprint of one certificate must not bring others
 * along. Callers hand on `trustAnchorPem` (re-encoded from this parse), never the text received.
 */
export const singleCertificate = (pem: string, what: string): X509Certificate => {
  const labels = [...pem.matchAll(PEM_BLOCK)].map((m) => m[1]!);
  if (labels.length !== 1 || labels[0] !== 'CERTIFICATE') {
    throw new Error(`${what} holds ${labels.length} PEM blocks (${labels.join(', ') || 'none'}); expected exactly one CERTIFICATE`);
  }
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new Error(`${what} is not a valid PEM certificate: ${(err as Error).message}`, { cause: err });
  }
};

/** The certificate as PEM re-encoded from its DER: exactly what was fingerprinted, nothing around it. */
export const trustAnchorPem = (pem: string, what: string): string => singleCertificate(pem, what).toString();

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
