/** Node's codes for a server certificate that does not verify (the chain, the name, the dates). */
const NOT_SIGNED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);
const WRONG_NAME = 'ERR_TLS_CERT_ALTNAME_INVALID';
const OUT_OF_DATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/**
 * The code of a TLS verification failure in `err` or its causes (fetch wraps it as
 * `TypeError: fetch failed` with the socket's error as `cause`); undefined for anything else.
 * Such a failure is the same on every attempt: never worth a retry.
 */
export const tlsVerifyCode = (err: unknown): string | undefined => {
  let e = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NOT_SIGNED.has(code) || code === WRONG_NAME || OUT_OF_DATE.has(code))) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
};

/**
 * Why the server's certificate was refused, in words ("its certificate is not signed by
 * `anchor` (CODE)"), or undefined when `err` is no TLS verification failure. `host` is the
 * name the certificate had to carry.
 */
export const untrustedCertificateReason = (err: unknown, host: string, anchor: string): string | undefined => {
  const code = tlsVerifyCode(err);
  if (!code) return undefined;
  if (code === WRONG_NAME) return `its certificate is not issued for ${host} (${code})`;
  if (OUT_OF_DATE.has(code)) return `its certificate is expired or not yet valid (${code})`;
  return `its certificate is not signed by ${anchor} (${code})`;
};

/**
 * True when a TLS handshake got a plain-HTTP answer (OpenSSL: "wrong version number" or "packet
 * length too long"): the server speaks HTTP, not HTTPS. As fixed as a certificate failure.
 */
export const answeredInPlainHttp = (err: unknown): boolean => {
  let e = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
      if (typeof message !== 'string' || /wrong version number|packet length too long|http request/i.test(message) || code !== 'EPROTO') return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
};
