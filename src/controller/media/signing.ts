import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed media URLs: `?expires=<unix seconds>&sig=<hex HMAC-SHA256 of "GET\n<path>\n<expires>">`.
 * A GET signature also admits HEAD, which is the same request without a body.
 */
export const createUrlSigner = (secret: string, ttlMs: number, now: () => number) => {
  const mac = (method: string, path: string, expires: number) =>
    createHmac('sha256', secret).update(`${method}\n${path}\n${expires}`).digest('hex');
  return {
    sign(path: string): string {
      const expires = Math.floor((now() + ttlMs) / 1000);
      return `${path}?expires=${expires}&sig=${mac('GET', path, expires)}`;
    },
    /** Returns null when valid, else the reason. */
    check(method: string, path: string, expires: string | undefined, sig: string | undefined): string | null {
      if (!expires || !sig) return 'this media URL must be signed (expires and sig parameters)';
      if (!/^\d{1,12}$/.test(expires) || !/^[0-9a-f]{64}$/.test(sig)) return 'malformed expires or sig parameter';
      if (Number(expires) * 1000 < now()) return 'the signed URL has expired';
      const want = Buffer.from(mac(method === 'HEAD' ? 'GET' : method, path, Number(expires)), 'hex');
      return timingSafeEqual(want, Buffer.from(sig, 'hex')) ? null : 'bad signature';
    },
  };
};
export type UrlSigner = ReturnType<typeof createUrlSigner>;
